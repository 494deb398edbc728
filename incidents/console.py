"""The test console of an integration: what its rules (and a webhook's expressions) make of a body.

It reads the integration's rules and writes nothing: no alert, no incident,
no suppressed event — the admin page and the API endpoint answer from here.
"""

from django.utils.translation import gettext as _

from incidents import ingest, routing, webhook
from incidents.models import Integration


def _result(integration, route, *, title, severity, dedup_key, **extra):
    service = route.service or integration.service
    severity = route.severity or severity
    event = {
        "service": service.slug,
        "severity": severity,
        "urgency": route.urgency or (service.urgency_for(severity) if severity else None),
        "dedup_key": route.dedup_key or dedup_key or None,
        "title": route.title or title or None,
        **extra,
    }
    return {"matched": route.rule, "dropped": route.drop, "event": event}


def _alertmanager(integration, body, rules):
    # A whole notification, or one alert alone.
    group, alerts = (body, body["alerts"]) if isinstance(body.get("alerts"), list) else ({}, [body])
    results = []
    for alert in alerts[:100]:
        if not isinstance(alert, dict):
            raise ingest.InvalidEvent([_("Each alert must be an object.")])
        context = routing.alert_context(group, alert)
        route = routing.decide(rules, context)
        labels, annotations = context["labels"], context["annotations"]
        word = str(labels.get("severity", "error")).lower()
        results.append(
            _result(
                integration,
                route,
                title=routing.as_text(annotations.get("summary") or labels.get("alertname")),
                severity=ingest.SEVERITY_MAP.get(word, ingest.SEVERITY_MAP["error"]),
                dedup_key=routing.as_text(group.get("groupKey")),
            )
        )
    if not results:
        return {"matched": None, "dropped": False, "event": {}, "alerts": []}
    return {**results[0], "alerts": results}


def explain(integration, body):
    """`{"matched": rule id or None, "dropped": bool, "event": {service, severity, urgency, dedup_key, title …}}`
    for `body` sent to `integration`; an Alertmanager notification answers for its first alert and lists each
    in "alerts". Raises ingest.InvalidEvent for a body it cannot read."""
    if not isinstance(body, dict):
        raise ingest.InvalidEvent([_("The body must be a JSON object.")])
    rules = routing.rules_of(integration)
    if integration.kind == Integration.Kind.ALERTMANAGER:
        return _alertmanager(integration, body, rules)
    route = routing.decide(rules, body) if rules else routing.NO_RULE
    if integration.kind == Integration.Kind.WEBHOOK:
        event = webhook.extract(integration, body)
        return _result(
            integration,
            route,
            title=event.title,
            severity=event.severity,
            dedup_key=event.dedup_key,
            resolve=event.resolve,
        )
    payload = body.get("payload") if isinstance(body.get("payload"), dict) else {}
    word = payload.get("severity")
    return _result(
        integration,
        route,
        title=routing.as_text(payload.get("summary")),
        severity=ingest.SEVERITY_MAP.get(word, "") if isinstance(word, str) else "",
        dedup_key=routing.as_text(body.get("dedup_key")),
        action=body.get("event_action") if isinstance(body.get("event_action"), str) else None,
    )
