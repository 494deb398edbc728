"""Turning monitoring events into alerts and incidents.

Two contracts that real monitoring tools already speak: the PagerDuty Events
API v2 and the Prometheus Alertmanager webhook (payload version 4). Both are
idempotent under re-delivery and run in one transaction per event, so an
accepted event is committed before the caller hears "accepted".
"""

import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from incidents import lifecycle
from incidents.models import Alert, Incident, Integration, Severity, Status
from project import clock
from project.rawjson import EventRejected

logger = logging.getLogger(__name__)

SEVERITY_MAP = {
    "critical": Severity.SEV1,
    "error": Severity.SEV2,
    "warning": Severity.SEV3,
    "info": Severity.SEV4,
}
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
OPTIONAL_STRINGS = ("component", "group", "class")


class InvalidEvent(Exception):
    """An event that cannot be accepted; `errors` names each bad field."""

    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Outcome:
    dedup_key: str
    incident: Incident | None
    created: bool = False


_TIMESTAMP = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def parse_timestamp(value):
    """Parse an ISO 8601 / RFC 3339 timestamp, nanoseconds included.

    Returns an aware datetime, or None for Alertmanager's "zero time"
    (`0001-01-01T00:00:00Z`, meaning "not ended"). Raises ValueError.
    """
    if not isinstance(value, str):
        raise ValueError("not a string")
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise ValueError("not an ISO 8601 timestamp")
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    tz = match["tz"] or "+00:00"
    if tz.upper() == "Z":
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{match['base'].replace(' ', 'T')}.{frac}{tz}")
        if parsed.year <= 1:
            return None
        parsed = parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError(str(exc) or "out of range") from None
    if not clock.in_range(parsed):
        raise ValueError(f"not between the years {clock.MIN_YEAR} and {clock.MAX_YEAR}")
    return parsed


# --- PagerDuty Events API v2 -------------------------------------------------


def validate_event_v2(data):
    """Check an Events API v2 body; return the cleaned event or raise InvalidEvent."""
    if not isinstance(data, dict):
        raise InvalidEvent(["The body must be a JSON object."])
    errors = []
    action = data.get("event_action")
    if not isinstance(action, str) or action not in EVENT_ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge, resolve.")
    dedup_key = data.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key):
        errors.append("'dedup_key' must be a non-empty string.")
    elif isinstance(dedup_key, str) and len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' is longer than {MAX_DEDUP_KEY} characters.")
    if action in ("acknowledge", "resolve") and dedup_key is None:
        errors.append(f"'dedup_key' is required to {action}.")

    event = {"action": action, "dedup_key": dedup_key}
    if action == "trigger":
        payload = data.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is required for a trigger and must be an object.")
            payload = {}
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors.append("'payload.summary' is required.")
        elif len(summary) > MAX_SUMMARY:
            errors.append(f"'payload.summary' is longer than {MAX_SUMMARY} characters.")
        source = payload.get("source")
        if not isinstance(source, str) or not source.strip():
            errors.append("'payload.source' is required.")
        elif len(source) > 1024:
            errors.append("'payload.source' is longer than 1024 characters.")
        severity = payload.get("severity")
        if not isinstance(severity, str) or severity not in SEVERITY_MAP:
            errors.append("'payload.severity' must be one of critical, error, warning, info.")
        if "timestamp" in payload:
            try:
                parse_timestamp(payload["timestamp"])
            except ValueError:
                errors.append("'payload.timestamp' must be an ISO 8601 timestamp.")
        for name in OPTIONAL_STRINGS:
            if name in payload and not isinstance(payload[name], str | None):
                errors.append(f"'payload.{name}' must be a string.")
        for name in ("links", "images"):
            if name in data and not isinstance(data[name], list):
                errors.append(f"'{name}' must be a list.")
        event.update(summary=summary, source=source, severity=severity)
    if errors:
        raise InvalidEvent(errors)
    return event


def _stored_payload(data):
    # The routing key is the integration's secret: never keep it with the alert.
    return {k: v for k, v in data.items() if k != "routing_key"}


def process_event_v2(integration, data):
    """Accept one Events API v2 event for `integration`; return what it did."""
    event = validate_event_v2(data)
    action = event["action"]
    dedup_key = event["dedup_key"] or uuid.uuid4().hex
    service = integration.service
    if action == "trigger" and connection.vendor == "postgresql":
        outcome = _join_in_one_statement(integration, event, dedup_key, _stored_payload(data))
        if outcome is not None:
            _log_accepted(integration, action, outcome)
            return outcome
    with transaction.atomic():
        alert = Alert(
            integration=integration,
            dedup_key=dedup_key,
            action=action,
            payload=_stored_payload(data),
        )
        outcome = Outcome(dedup_key=dedup_key, incident=None)
        if action == "trigger":
            alert.summary = event["summary"][:1024]
            alert.source = event["source"][:1024]
            alert.severity = event["severity"]
            # Most triggers join an open incident: one UPDATE does it.
            incident = lifecycle.join_open(service, dedup_key, at=alert.received_at)
            created = False
            if incident is None:
                incident, created = lifecycle.open_or_join(
                    service=service,
                    dedup_key=dedup_key,
                    title=event["summary"],
                    severity=SEVERITY_MAP[event["severity"]],
                    actor_name=integration.name,
                    data={"source": event["source"], "severity": event["severity"]},
                    alert_count=1,
                    look_first=False,
                    at=alert.received_at,
                )
                if not created:
                    lifecycle.record_alert_joined(incident, at=alert.received_at)
            outcome = Outcome(dedup_key=dedup_key, incident=incident, created=created)
        else:
            incident = lifecycle.lock_open(service, dedup_key)
            if incident is not None:
                if action == "acknowledge" and incident.status == Status.TRIGGERED:
                    incident = lifecycle.acknowledge(incident, actor_name=integration.name)
                elif action == "resolve":
                    incident = lifecycle.resolve(incident, actor_name=integration.name)
            outcome = Outcome(dedup_key=dedup_key, incident=incident)
        alert.incident = outcome.incident
        alert.save()
    _log_accepted(integration, action, outcome)
    return outcome


def _log_accepted(integration, action, outcome):
    logger.info(
        "event accepted integration=%s action=%s dedup_key=%s incident=%s created=%s",
        integration.pk,
        action,
        outcome.dedup_key,
        outcome.incident.number if outcome.incident else None,
        outcome.created,
    )


JOIN_AND_RECORD = """
WITH joined AS (
    UPDATE {incident} SET alert_count = alert_count + 1, last_alert_at = %(at)s
    WHERE service_id = %(service)s AND dedup_key = %(dedup_key)s AND status <> 'resolved'
    RETURNING id, number, status
), recorded AS (
    INSERT INTO {alert} (integration_id, incident_id, dedup_key, action, summary, severity, source,
                         fingerprint, status, payload, received_at)
    SELECT %(integration)s, id, %(dedup_key)s, 'trigger', %(summary)s, %(severity)s, %(source)s,
           '', '', %(payload)s::jsonb, %(at)s
    FROM joined
    RETURNING incident_id
)
SELECT joined.id, joined.number, joined.status FROM joined JOIN recorded ON recorded.incident_id = joined.id
"""


def _join_in_one_statement(integration, event, dedup_key, payload):
    """PostgreSQL: join the open incident and keep the alert in one atomic statement.

    Most triggers of an alert storm join an open incident; this makes each of
    them one round trip. Returns None when there is no open incident to join.
    """
    sql = JOIN_AND_RECORD.format(
        incident=connection.ops.quote_name(Incident._meta.db_table),
        alert=connection.ops.quote_name(Alert._meta.db_table),
    )
    params = {
        "at": timezone.now(),
        "service": integration.service_id,
        "dedup_key": dedup_key,
        "integration": integration.pk,
        "summary": event["summary"][:1024],
        "severity": event["severity"],
        "source": event["source"][:1024],
        "payload": json.dumps(payload),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    incident = Incident(pk=row[0], number=row[1], status=row[2], service=integration.service, dedup_key=dedup_key)
    return Outcome(dedup_key=dedup_key, incident=incident)


# --- Prometheus Alertmanager webhook ------------------------------------------


def validate_alertmanager(data):
    if not isinstance(data, dict):
        raise InvalidEvent(["The body must be a JSON object."])
    errors = []
    if str(data.get("version", "4")) != "4":
        errors.append("'version' must be \"4\" (Alertmanager webhook payload version 4).")
    if not isinstance(data.get("groupKey"), str) or not data["groupKey"]:
        errors.append("'groupKey' is required.")
    if data.get("status") not in ("firing", "resolved"):
        errors.append("'status' must be firing or resolved.")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        errors.append("'alerts' must be a list.")
        alerts = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            errors.append(f"'alerts[{index}]' must be an object.")
            continue
        for field in ("labels", "annotations"):
            if not isinstance(alert.get(field, {}), dict):
                errors.append(f"'alerts[{index}].{field}' must be an object.")
        for field in ("startsAt", "endsAt"):
            if alert.get(field) is not None:
                try:
                    parse_timestamp(alert[field])
                except ValueError:
                    errors.append(f"'alerts[{index}].{field}' must be an RFC 3339 timestamp.")
    for field in ("groupLabels", "commonLabels", "commonAnnotations"):
        if not isinstance(data.get(field, {}), dict):
            errors.append(f"'{field}' must be an object.")
    if errors:
        raise InvalidEvent(errors)


def _group_dedup_key(group_key):
    if len(group_key) <= MAX_DEDUP_KEY:
        return group_key
    return "sha256:" + hashlib.sha256(group_key.encode()).hexdigest()


def _fingerprint(alert):
    if alert.get("fingerprint"):
        return str(alert["fingerprint"])[:255]
    labels = json.dumps(alert.get("labels") or {}, sort_keys=True)
    return hashlib.sha256(labels.encode()).hexdigest()[:16]


def _alertmanager_severity(data):
    levels = list(SEVERITY_MAP)
    found = [
        str((alert.get("labels") or {}).get("severity", "")).lower()
        for alert in data["alerts"]
        if isinstance(alert, dict)
    ]
    common = str((data.get("commonLabels") or {}).get("severity", "")).lower()
    known = [s for s in [common, *found] if s in SEVERITY_MAP]
    if not known:
        return "error"
    return min(known, key=levels.index)


def _alertmanager_title(data):
    summary = (data.get("commonAnnotations") or {}).get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary.strip()
    labels = data.get("groupLabels") or data.get("commonLabels") or {}
    if labels:
        return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))[:1024]
    return "Alertmanager alert"


def process_alertmanager(integration, data):
    """Accept one Alertmanager notification: one incident per alert group."""
    validate_alertmanager(data)
    dedup_key = _group_dedup_key(data["groupKey"])
    service = integration.service
    firing = data["status"] == "firing"
    severity = _alertmanager_severity(data)
    annotations = data.get("commonAnnotations") or {}
    now = timezone.now()
    with transaction.atomic():
        incident = lifecycle.lock_open(service, dedup_key)
        created = False
        if incident is None and firing:
            incident, created = lifecycle.open_or_join(
                service=service,
                dedup_key=dedup_key,
                title=_alertmanager_title(data),
                description=str(annotations.get("description") or ""),
                severity=SEVERITY_MAP[severity],
                actor_name=integration.name,
                data={"groupKey": data["groupKey"], "receiver": data.get("receiver", "")},
            )
        if incident is None:
            # A resolve for a group whose incident is already resolved (a
            # re-delivery) updates that incident's alerts; otherwise it is kept alone.
            incident = Incident.objects.filter(service=service, dedup_key=dedup_key).order_by("-created_at").first()
        if incident is None:
            Alert.objects.create(
                integration=integration,
                dedup_key=dedup_key,
                action=data["status"],
                summary=_alertmanager_title(data)[:1024],
                severity=severity,
                source=str(data.get("externalURL", ""))[:1024],
                payload=data,
                received_at=now,
            )
            return Outcome(dedup_key=dedup_key, incident=None)

        new_alerts = _upsert_alerts(integration, incident, data, now)
        if new_alerts and incident.is_open:
            lifecycle.record_alert_joined(incident, at=now, count=new_alerts)
        if incident.is_open and firing:
            _refresh_details(incident, data)
        if incident.is_open and not firing:
            incident = lifecycle.resolve(incident, actor_name=integration.name)
    logger.info(
        "alertmanager notification integration=%s status=%s group=%s incident=%s new_alerts=%s",
        integration.pk,
        data["status"],
        dedup_key,
        incident.number,
        new_alerts,
    )
    return Outcome(dedup_key=dedup_key, incident=incident, created=created)


def _upsert_alerts(integration, incident, data, now):
    """Track each alert of the group by fingerprint; return how many are new."""
    existing = {a.fingerprint: a for a in Alert.objects.filter(incident=incident).exclude(fingerprint="")}
    group = {k: data.get(k) for k in ("groupKey", "receiver", "externalURL", "groupLabels")}
    new = 0
    for raw in data["alerts"]:
        fingerprint = _fingerprint(raw)
        labels = raw.get("labels") or {}
        annotations = raw.get("annotations") or {}
        alert = existing.get(fingerprint)
        if alert is None:
            alert = Alert(
                integration=integration,
                incident=incident,
                dedup_key=incident.dedup_key,
                fingerprint=fingerprint,
                action="trigger" if raw.get("status", "firing") == "firing" else "resolve",
            )
            existing[fingerprint] = alert
            new += 1
        elif not annotations:
            # A resolve may come without annotations: keep what we know.
            annotations = (alert.payload.get("alert") or {}).get("annotations") or {}
        alert.status = str(raw.get("status", data["status"]))[:20]
        alert.summary = str(annotations.get("summary") or labels.get("alertname") or alert.summary)[:1024]
        alert.severity = str(labels.get("severity", alert.severity or ""))[:20]
        alert.source = str(raw.get("generatorURL") or alert.source)[:1024]
        alert.payload = {"alert": {**raw, "annotations": annotations}, "group": group}
        alert.received_at = now
        alert.save()
    return new


def _refresh_details(incident, data):
    """A firing notification may carry a better summary: keep the newest non-empty one."""
    annotations = data.get("commonAnnotations") or {}
    summary = annotations.get("summary")
    fields = []
    if isinstance(summary, str) and summary.strip() and summary.strip() != incident.title:
        incident.title = summary.strip()[:1024]
        fields.append("title")
    description = annotations.get("description")
    if isinstance(description, str) and description.strip() and description != incident.description:
        incident.description = description
        fields.append("description")
    if fields:
        incident.save(update_fields=fields)


def integration_for(key, kind):
    """The enabled integration of this kind with this key, or EventRejected saying why not."""
    integration = Integration.by_key(key) if isinstance(key, str) and key else None
    if integration is None:
        raise EventRejected(404 if kind == Integration.Kind.ALERTMANAGER else 400, "Unknown integration key.")
    if integration.kind != kind:
        raise EventRejected(
            400,
            f"This key belongs to an integration of kind {integration.kind!r}; send its events to {integration.url}",
        )
    if not integration.enabled:
        raise EventRejected(403, "This integration is disabled.")
    return integration
