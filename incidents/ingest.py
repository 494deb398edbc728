"""Turning monitoring events into alerts and incidents.

Two contracts that real monitoring tools already speak: the PagerDuty Events
API v2 and the Prometheus Alertmanager webhook (payload version 4). Both are
idempotent under re-delivery and run in one transaction per event, so an
accepted event is committed before the caller hears "accepted".
"""

import functools
import hashlib
import json
import logging
import uuid
from collections import namedtuple
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from incidents import lifecycle, opening, routing
from incidents.ingest_sql import (
    COUNT_IF_UNCHANGED,
    JOIN_AND_RECORD,
    OPEN_GROUP,
    READ_GROUP,
    RECORD,
    WRITE_ALERTS,
    WRITE_IF_UNCHANGED,
    positional,
    statement,
)
from incidents.models import AckChannel, Alert, Incident, Integration, Severity, Status
from project.clock import parse_timestamp
from project.rawjson import EventRejected
from project.text import one_line

logger = logging.getLogger(__name__)

SEVERITY_MAP = {"critical": Severity.SEV1, "error": Severity.SEV2, "warning": Severity.SEV3, "info": Severity.SEV4}
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


def process_event_v2(integration, data, route=None):
    """Accept one Events API v2 event for `integration`; return what it did (`route`: see incidents.routing)."""
    event = validate_event_v2(data)
    if (route := route or routing.route_event(integration, data)).drop:
        return Outcome(dedup_key=routing.suppress(integration, route, data, event).dedup_key, incident=None)
    action, now = event["action"], timezone.now()
    dedup_key = route.dedup_key or event["dedup_key"] or uuid.uuid4().hex
    service = route.service or integration.service
    trigger = action == "trigger"
    alert = {
        "integration": integration.pk,
        "dedup_key": dedup_key,
        "action": action,
        "summary": event["summary"][:1024] if trigger else "",
        "severity": event["severity"] if trigger else "",
        "source": event["source"][:1024] if trigger else "",
        "payload": json.dumps(_stored_payload(data)),
        "at": connection.ops.adapt_datetimefield_value(now),
    }
    new = None
    if trigger:
        outcome = _join(service, alert, now)
        if outcome is not None:
            _log_accepted(integration, action, outcome)
            return outcome
        new = opening.NewIncident(
            service=service,
            dedup_key=dedup_key,
            title=route.title or event["summary"],
            severity=route.severity or SEVERITY_MAP[event["severity"]],
            actor_name=integration.name,
            data={"source": event["source"], "severity": event["severity"]},
            alert_count=1,
            at=now,
            urgency=route.urgency or None,
        )
        # PostgreSQL: the incident, the rows it starts with and this alert in one statement.
        incident = opening.open_at_once(new, after=[_recorded_with_new(alert)])
        if incident is not None:
            outcome = Outcome(dedup_key=dedup_key, incident=incident, created=True)
            _log_accepted(integration, action, outcome)
            return outcome
    with transaction.atomic():
        if trigger:
            # No open incident a moment ago: a concurrent creator's makes this trigger join theirs.
            incident, created = opening.open_or_join(new, look_first=False)
            if not created:
                opening.record_alert_joined(incident, at=now)
            if incident.dedup_key == dedup_key:
                _saw_open((service.pk, dedup_key))
            outcome = Outcome(dedup_key=dedup_key, incident=incident, created=created)
        else:
            incident = opening.lock_open(service, dedup_key)
            if incident is not None:
                if action == "acknowledge" and incident.status == Status.TRIGGERED:
                    incident = lifecycle.acknowledge(
                        incident, actor_name=integration.name, channel=AckChannel.INTEGRATION
                    )
                elif action == "resolve":
                    incident = lifecycle.resolve(incident, actor_name=integration.name)
            outcome = Outcome(dedup_key=dedup_key, incident=incident)
        _record(alert, outcome.incident)
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


def _join(service, alert, now):
    """Most triggers of an alert storm join an open incident: one statement on PostgreSQL. On SQLite, a read
    first (readers do not wait for the writer): a trigger that opens an incident builds it before its
    transaction begins, and one that joins writes in a short one. Returns None when there is no open incident
    to join."""
    dedup_key = alert["dedup_key"]
    if connection.vendor == "postgresql":
        record = statement(RECORD, incident_id="id", joined="FROM joined")
        with connection.cursor() as cursor:
            cursor.execute(statement(JOIN_AND_RECORD, record=record), {**alert, "service": service.pk})
            row = cursor.fetchone()
        if row is None:
            return None
        incident = opening.partial(service, id=row[0], number=row[1], status=row[2], dedup_key=dedup_key)
        return Outcome(dedup_key=dedup_key, incident=incident)
    key = (service.pk, dedup_key)
    if key not in _seen_open and not opening.has_open(service, dedup_key):
        return None
    with transaction.atomic():
        incident = opening.join_open(service, dedup_key, at=now)
        if incident is None:  # resolved since
            _seen_open.pop(key, None)
            return None
        _record(alert, incident)
    _saw_open(key)
    return Outcome(dedup_key=dedup_key, incident=incident)


# SQLite: the keys whose incident this process last saw open, whose next trigger joins without the read first
# (wrong only when the incident was resolved since: that trigger then reads, in a transaction that writes nothing).
_seen_open = {}


def _saw_open(key):
    if connection.vendor != "sqlite":
        return
    if len(_seen_open) >= 10_000:
        _seen_open.clear()
    _seen_open[key] = True


def _recorded_with_new(alert):
    """The writable CTE that keeps the alert with its new incident's statement (see opening.open_at_once)."""
    sql, names = positional(statement(RECORD, incident_id="id", joined="FROM inserted"))
    return f"recorded AS ({sql})", [alert[name] for name in names]


def _record(alert, incident):
    with connection.cursor() as cursor:
        incident_id = incident.pk if incident else None
        cursor.execute(statement(RECORD, incident_id="%(incident)s", joined=""), {**alert, "incident": incident_id})


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
            value = alert.get(field)
            if value is not None and not (isinstance(value, str) and len(value) <= 64 and _is_timestamp(value)):
                errors.append(f"'alerts[{index}].{field}' must be an RFC 3339 timestamp.")
    for field in ("groupLabels", "commonLabels", "commonAnnotations"):
        if not isinstance(data.get(field, {}), dict):
            errors.append(f"'{field}' must be an object.")
    if errors:
        raise InvalidEvent(errors)


@functools.lru_cache(maxsize=4096)  # a group comes again and again with the same instants (64 characters at most)
def _is_timestamp(value):
    try:
        parse_timestamp(value)
    except ValueError:
        return False
    return True


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
    """The highest severity label of the group (the common one included), else "error"."""
    labels = [data.get("commonLabels") or {}, *(alert.get("labels") or {} for alert in data["alerts"])]
    known = [s for s in (str(label.get("severity", "")).lower() for label in labels) if s in SEVERITY_MAP]
    return min(known, key=list(SEVERITY_MAP).index) if known else "error"


def _alertmanager_title(data):
    """The common summary, else the group's labels."""
    labels = data.get("groupLabels") or data.get("commonLabels") or {}
    by_labels = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))[:1024]
    return _new_details(data)[0] or by_labels or "Alertmanager alert"


def process_alertmanager(integration, data, route=None):
    """Accept one Alertmanager notification: one incident per alert group.

    Alertmanager re-sends the whole group on every change and every `group_interval`, so a notification costs
    what it changes: alerts are matched by fingerprint, new and changed ones written in one statement, the
    incident's counters once; a notification that changes nothing takes no lock and writes nothing.
    `route`: what the routing rules decided for this part of a notification; None: decide it here.
    """
    validate_alertmanager(data)
    if route is None and routing.rules_of(integration):
        return routing.each_part(integration, data, process_alertmanager) or Outcome(dedup_key="", incident=None)
    route = route or routing.NO_RULE
    dedup_key = _group_dedup_key(data["groupKey"])
    service, firing = route.service or integration.service, data["status"] == "firing"
    alerts = {_fingerprint(raw): raw for raw in data["alerts"]}  # a repeated fingerprint: the last one counts
    seen = _read_group(alerts, _new_details(data) if firing else (None, None), service=service.pk, dedup_key=dedup_key)
    now = timezone.now()
    if seen is not None and firing and seen.details_current:
        # The usual notification: the group's incident is open and keeps its title; alerts change, or nothing.
        rows = _changed_rows(data, alerts, seen.stored)
        new_alerts = sum(1 for row in rows if row["fingerprint"] not in seen.stored)
        if not rows or _write_if_unchanged(integration, seen, rows, new_alerts, now):
            return _accepted(integration, data, seen.incident, created=False, new_alerts=new_alerts)
    with transaction.atomic():
        # A group seen with no open incident skips the lookup: a concurrent creator makes this trigger join theirs.
        incident = opening.lock_open(service, dedup_key) if seen is not None or not firing else None
        created = False
        if incident is None and firing:
            annotations = data.get("commonAnnotations") or {}
            incident, created = opening.open_or_join(
                service=service,
                dedup_key=dedup_key,
                title=_alertmanager_title(data),
                description=str(annotations.get("description") or ""),
                severity=route.severity or SEVERITY_MAP[_alertmanager_severity(data)],
                actor_name=integration.name,
                data={"groupKey": data["groupKey"], "receiver": data.get("receiver", "")},
                alert_count=len(alerts),
                look_first=False,
                at=now,
                urgency=route.urgency or None,
            )
        elif incident is None:
            # A resolve for a group whose incident is already resolved (a
            # re-delivery) updates that incident's alerts; otherwise it is kept alone.
            incident = Incident.objects.filter(service=service, dedup_key=dedup_key).order_by("-created_at").first()
        if incident is None:
            Alert.objects.create(
                integration=integration,
                dedup_key=dedup_key,
                action=data["status"],
                summary=_alertmanager_title(data)[:1024],
                severity=_alertmanager_severity(data),
                source=str(data.get("externalURL", ""))[:1024],
                payload=data,
                received_at=now,
            )
            return Outcome(dedup_key=dedup_key, incident=None)
        stored = {} if created else _read_group(alerts, incident=incident.pk).stored
        rows = _changed_rows(data, alerts, stored)
        _write_alerts(integration, incident, rows, now)
        new_alerts = sum(1 for row in rows if row["fingerprint"] not in stored)
        if new_alerts and incident.is_open and not created:
            opening.record_alert_joined(incident, at=now, count=new_alerts)
        # A group merged into another incident (see lifecycle.merge) leaves that incident's title alone.
        if incident.is_open and firing and not created and incident.dedup_key == dedup_key:
            _refresh_details(incident, data)
        if incident.is_open and not firing:
            incident = lifecycle.resolve(incident, actor_name=integration.name)
    return _accepted(integration, data, incident, created=created, new_alerts=new_alerts)


def _accepted(integration, data, incident, *, created, new_alerts):
    logger.info(
        "alertmanager notification integration=%s status=%s group=%s incident=%s new_alerts=%s",
        integration.pk,
        data["status"],
        incident.dedup_key,
        incident.number,
        new_alerts,
    )
    return Outcome(dedup_key=incident.dedup_key, incident=incident, created=created)


# An alert as last written (`alert`: its labels, annotations, startsAt, endsAt …).
_StoredAlert = namedtuple("_StoredAlert", "status summary severity source alert")
# A group's incident (id, number, status, alert count), whether it has the title and description the body
# would give it, and its stored alerts of the body's fingerprints (fingerprint → _StoredAlert).
_Group = namedtuple("_Group", "incident details_current stored")


def _unchanged(raw, stored, group_status):
    """Same status, start, end, labels and annotations (none sent: the ones kept)."""
    alert = stored.alert
    annotations = raw.get("annotations")
    return (
        stored.status == str(raw.get("status", group_status))[:20]
        and alert.get("startsAt") == raw.get("startsAt")
        and alert.get("endsAt") == raw.get("endsAt")
        and (alert.get("labels") or {}) == (raw.get("labels") or {})
        and (not annotations or annotations == alert.get("annotations"))
    )


def _changed_rows(data, alerts, stored):
    """The columns to write for each new or changed alert: what the body says, else what was known."""
    group = {k: data.get(k) for k in ("groupKey", "receiver", "externalURL", "groupLabels")}
    rows = []
    for fingerprint, raw in alerts.items():
        old = stored.get(fingerprint)
        if old is not None and _unchanged(raw, old, data["status"]):
            continue
        labels = raw.get("labels") or {}
        # A resolve may come without annotations: keep what we know.
        annotations = raw.get("annotations") or (old.alert.get("annotations") if old else None) or {}
        summary = annotations.get("summary") or labels.get("alertname") or (old.summary if old else "")
        rows.append(
            {
                "fingerprint": fingerprint,
                "action": "trigger" if raw.get("status", "firing") == "firing" else "resolve",
                "status": str(raw.get("status", data["status"]))[:20],
                "summary": str(summary)[:1024],
                "severity": str(labels.get("severity", old.severity if old else ""))[:20],
                "source": str(raw.get("generatorURL") or (old.source if old else ""))[:1024],
                "payload": {"alert": {**raw, "annotations": annotations}, "group": group},
            }
        )
    return rows


def _new_details(data):
    """The title and description a firing notification gives its incident (None: it gives none)."""
    annotations = data.get("commonAnnotations") or {}
    summary, description = annotations.get("summary"), annotations.get("description")
    title = one_line(summary, opening.MAX_TITLE) if isinstance(summary, str) and summary.strip() else None
    return title or None, description if isinstance(description, str) and description.strip() else None


def _read_group(alerts, details=(None, None), **where):
    """The group's incident (the open one of `service` and `dedup_key`, or `incident`) and its alerts of the
    body's fingerprints, in one query; None if there is no such incident."""
    title, description = details
    fingerprints = list(alerts) if connection.vendor == "postgresql" else json.dumps(list(alerts))
    params = {"fingerprints": fingerprints, "title": title, "description": description, **where}
    with connection.cursor() as cursor:
        cursor.execute(statement(READ_GROUP, "i.id = %(incident)s" if "incident" in where else OPEN_GROUP), params)
        rows = cursor.fetchall()
    if not rows:
        return None
    pk, number, status, alert_count, details_current = rows[0][:5]
    incident = Incident(pk=pk, number=number, status=status, alert_count=alert_count, dedup_key=where.get("dedup_key"))
    stored = {row[5]: _StoredAlert(*row[6:10], json.loads(row[10] or "{}")) for row in rows if row[5] is not None}
    return _Group(incident, bool(details_current), stored)


def _alert_params(integration, incident, rows, now):
    at = connection.ops.adapt_datetimefield_value(now)
    params = {"integration": integration.pk, "incident": incident.pk, "dedup_key": incident.dedup_key, "at": at}
    return {**params, "rows": json.dumps(rows)}


def _write_alerts(integration, incident, rows, now):
    """Insert the new alerts and update the changed ones, in one statement."""
    if rows:
        with connection.cursor() as cursor:
            cursor.execute(statement(WRITE_ALERTS, "true"), _alert_params(integration, incident, rows, now))


def _write_if_unchanged(integration, seen, rows, count, now):
    """Write the rows and count the `count` new alerts in, if the incident is open and no alert was added to it
    since `seen` was read (an alert that another notification changed meanwhile and this one leaves alone keeps
    that change); on PostgreSQL in one statement. Returns whether it wrote."""
    params = {**_alert_params(integration, seen.incident, rows, now), "count": count, "seen": seen.incident.alert_count}
    if connection.vendor == "postgresql":
        write = statement(WRITE_ALERTS, "EXISTS (SELECT FROM joined)")
        with connection.cursor() as cursor:
            cursor.execute(statement(WRITE_IF_UNCHANGED, count=statement(COUNT_IF_UNCHANGED), write=write), params)
            return cursor.fetchone()[0] == 1
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement(COUNT_IF_UNCHANGED), params)
        counted = cursor.rowcount == 1
        if counted:
            cursor.execute(statement(WRITE_ALERTS, "true"), params)
    return counted


def _refresh_details(incident, data):
    """A firing notification may carry a better summary: keep the newest non-empty one."""
    new = dict(zip(("title", "description"), _new_details(data), strict=True))
    fields = [name for name, value in new.items() if value is not None and value != getattr(incident, name)]
    for name in fields:
        setattr(incident, name, new[name])
    if fields:
        incident.save(update_fields=fields)


def integration_for(key, kind):
    """The enabled integration of this kind with this key, or EventRejected saying why not."""
    integration = Integration.by_key(key) if isinstance(key, str) and key else None
    if integration is None:
        raise EventRejected(400 if kind == Integration.Kind.EVENTS_V2 else 404, "Unknown integration key.")
    if integration.kind != kind:
        raise EventRejected(
            400,
            f"This key belongs to an integration of kind {integration.kind!r}; send its events to {integration.url}",
        )
    if not integration.enabled:
        raise EventRejected(403, "This integration is disabled.")
    return integration
