"""Every change of an incident's state goes through one function here.

Each function owns its transaction and writes, in that same transaction, its
timeline entry, whatever it makes due (a new incident's escalation, due now)
and the event that apps above incidents follow (`incidents.events`); it hands
work to the queue only after commit, which just speeds it up.
"""

import logging
import uuid

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents import escalation, events, merging, timeline
from incidents.models import (
    OPEN_STATUS_SQL,
    DedupAlias,
    Escalation,
    Incident,
    IncidentCounter,
    IncidentEvent,
    IncidentType,
    Notification,
    Severity,
    Status,
    TimelineEntry,
    Urgency,
)
from incidents.models.merging import services_with_aliases
from project import rows
from project.api import ConflictError
from project.rows import insert_unless_taken
from project.text import one_line

logger = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 10_000
MAX_TITLE = 1024  # a title is one line: the alert's own text stays in its payload
MAX_REASON = 500  # why a severity changed: one line


class TransitionError(ConflictError):
    """The incident's current state does not allow this change."""


def _write(incident, kind, message, *, params=None, by=None, actor_name="", data=None, at=None):
    return timeline.record(incident, kind, message, params=params, by=by, actor_name=actor_name, data=data, at=at)


def _next_number():
    """The next incident number; the counter row stays locked until commit."""
    table = connection.ops.quote_name(IncidentCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET value = value + 1 WHERE id = 1 RETURNING value")  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        IncidentCounter.objects.create(pk=1, value=1)
        return 1
    return row[0]


def _give_back_number():
    """Undo `_next_number()` on SQLite, whose write lock kept every other writer out since."""
    IncidentCounter.objects.filter(pk=1).update(value=F("value") - 1)


def _numbering_sql():
    quote = connection.ops.quote_name
    counter, table = quote(IncidentCounter._meta.db_table), quote(Incident._meta.db_table)
    taken = f"taken AS (UPDATE {counter} SET value = value + 1 WHERE id = 1 RETURNING value)"  # noqa: S608
    numbered = (
        f"numbered AS (UPDATE {table} SET number = taken.value FROM taken WHERE {table}.id = %s RETURNING number)"  # noqa: S608
    )
    return [taken, numbered], "number FROM numbered"


def _number(incident):
    """Give a new incident its number: the last write before its transaction commits (see IncidentCounter).

    On PostgreSQL one statement, the counter's lock held one round trip less: inside a `rows.together()`
    block, the block's own statement; elsewhere after the block's rows. (A triggered incident on SQLite takes
    its number before its row: see open_or_join.)
    """
    if connection.vendor == "postgresql":
        ctes, value = _numbering_sql()
        if rows.last_in_batch(ctes, value, [incident.pk], then=lambda numbers: _numbered(incident, numbers)):
            return
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {', '.join(ctes)} SELECT {value}", [incident.pk])
            numbers = [row[0] for row in cursor.fetchall()]
        _numbered(incident, numbers)
        return
    rows.after(lambda: _numbered(incident, []))


def _numbered(incident, numbers):
    """The number the statement gave, or (no counter row yet, or not PostgreSQL) one taken now."""
    if numbers:
        incident.number = numbers[0]
        return
    incident.number = _next_number()
    Incident.objects.filter(pk=incident.pk).update(number=incident.number)


def lock_open(service, dedup_key):
    """The service's open incident with this key, row-locked, or None (at most one exists)."""
    found = Incident.objects.select_for_update().filter(service=service, dedup_key=dedup_key).open().order_by()[:1]
    return next(iter(found), None)


def lock_merged_into(service, dedup_key):
    """The open incident that the service's incident with this key was merged into, row-locked, or None.

    One indexed query, asked only before a new incident of a service with aliases is opened (see merge).
    """
    if service.pk not in services_with_aliases():
        return None
    into = DedupAlias.objects.filter(service=service, dedup_key=dedup_key).values("incident_id")
    found = (
        Incident.objects.select_for_update(of=("self",))
        .filter(pk__in=into)
        .exclude(status=Status.RESOLVED)
        .order_by("-pk")[:1]
    )
    return next(iter(found), None)


def _started(incident, *, now):
    """What a new incident starts, in its own transaction: its call chain, due now, and the event others follow."""
    escalation.begin(incident, now=now, new=True)
    events.emit(incident, IncidentEvent.Kind.TRIGGERED)


class NewIncident:
    """A new incident and the rows it starts with (its timeline entry, call chain and event), built before the
    transaction that writes them (see `open_or_join`).

    On SQLite a transaction holds the database's one write lock from its start, so what is built before it
    begins is built while other requests write. A new incident starts with `alert_count` alerts; `urgency` (a
    routing rule's) overrides the service's urgency for the severity.
    """

    def __init__(self, **fields):
        self.fields = fields  # to build another one (see open_or_join)
        self.incident = incident = _new_incident(**fields)
        with rows.prepared() as self.rows:
            _write(
                incident,
                TimelineEntry.Kind.TRIGGERED,
                gettext_noop("Triggered: %(title)s"),
                params={"title": incident.title},
                actor_name=fields.get("actor_name", ""),
                data=fields.get("data"),
                at=incident.created_at,
            )
            _started(incident, now=incident.created_at)
        # SQLite numbers the incident once its transaction holds the lock, just before the row is written.
        self.statement = rows.unless_taken(incident, late=("number",))


def _new_incident(
    *,
    service,
    dedup_key,
    title,
    severity,
    description="",
    actor_name="",
    data=None,
    at=None,
    alert_count=0,
    urgency=None,
):
    """The incident of `NewIncident(**fields)`, every field checked here (`actor_name` and `data` are its first
    timeline entry's)."""
    now = at or timezone.now()
    return Incident(
        service=service,
        dedup_key=dedup_key,
        title=one_line(title, MAX_TITLE),
        description=description,
        severity=severity,
        urgency=urgency or service.urgency_for(severity),
        created_at=now,
        alert_count=alert_count,
        last_alert_at=now if alert_count else None,
    )


def open_or_join(new=None, *, look_first=True, _retries=3, **fields):
    """Return `(incident, created)`: the open incident with this key, or a new one (`new`, a NewIncident, or
    one built from the `fields` it takes).

    Safe under concurrency: a concurrent creator's row makes the insert do
    nothing (the one-open-incident constraint), and the caller then joins that
    incident.
    `look_first=False` skips the lookup when the caller has just found no open
    incident. Must run inside a transaction; the incident row is locked until
    it ends, and so is the counter of incident numbers: the caller writes
    little more.
    """
    new = new or NewIncident(**fields)
    incident = new.incident
    service, dedup_key = incident.service, incident.dedup_key
    if look_first:
        found = lock_open(service, dedup_key)
        if found is not None:
            return found, False
    merged_into = lock_merged_into(service, dedup_key)
    if merged_into is not None:
        return merged_into, False
    # SQLite has one writer at a time, and this transaction is it from its first write: the number can be taken
    # first and written with the row (one statement less), and given back if the row is not written.
    numbered_first = connection.vendor == "sqlite"
    if numbered_first:
        incident.number = _next_number()
    if not insert_unless_taken(incident, built=new.statement):
        if numbered_first:
            _give_back_number()
        # A concurrent creator's incident holds the key: join it.
        found = lock_open(service, dedup_key)
        if found is None:
            # The concurrent creator's incident was resolved in the meantime:
            # this trigger opens the next one.
            if _retries <= 0:
                raise IntegrityError(f"no open incident for {dedup_key!r}, and none could be opened")
            return open_or_join(NewIncident(**new.fields), _retries=_retries - 1)
        return found, False
    with rows.together():  # on PostgreSQL one statement: timeline entries, escalation, event, number
        rows.write_soon(new.rows)
        if not numbered_first:
            _number(incident)  # the block's last write: on PostgreSQL in its statement
    logger.info(
        "incident triggered number=%s service=%s dedup_key=%s severity=%s",
        incident.number,
        service.slug,
        dedup_key,
        incident.severity,
    )
    return incident, True


# A service's open incident with a key (parameters: the service's key, the dedup key), with the status written
# in as the index of open incidents says it (see IncidentQuerySet.open).
_OPEN_WITH_KEY = f"service_id = %s AND dedup_key = %s AND NOT (status = {OPEN_STATUS_SQL})"


def join_open(service, dedup_key, *, at, count=1):
    """Count `count` alerts into the service's open incident with this key, if any, in one statement.

    The UPDATE takes the row lock that a concurrent resolve would need, so the
    alert joins an incident that is still open. Returns a partial Incident
    (id, number, status, counts) or None. Must run inside a transaction.
    """
    table = connection.ops.quote_name(Incident._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET alert_count = alert_count + %s, last_alert_at = %s "  # noqa: S608 (no user input)
            f"WHERE {_OPEN_WITH_KEY} RETURNING id, number, status, alert_count",
            [count, connection.ops.adapt_datetimefield_value(at), service.pk, dedup_key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    pk, number, status, alert_count = row
    return Incident(
        pk=pk,
        number=number,
        status=status,
        alert_count=alert_count,
        last_alert_at=at,
        service=service,
        dedup_key=dedup_key,
    )


def has_open(service, dedup_key):
    """Whether the service has an open incident with this key: one indexed read, which on SQLite does not wait
    for the writer (the answer may be out of date by the time the caller writes)."""
    table = connection.ops.quote_name(Incident._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE {_OPEN_WITH_KEY} LIMIT 1",  # noqa: S608 (no user input)
            [service.pk, dedup_key],
        )
        return cursor.fetchone() is not None


def record_alert_joined(incident, *, at=None, count=1):
    """Count alerts that joined an open incident (the row is locked by the caller)."""
    at = at or timezone.now()
    Incident.objects.filter(pk=incident.pk).update(alert_count=F("alert_count") + count, last_alert_at=at)
    incident.alert_count += count
    incident.last_alert_at = at


def declare(*, service, title, by, severity=Severity.SEV2, description=""):
    """A person opens an incident by hand (no monitoring alert)."""
    if severity not in Severity.values:
        raise ValueError(f"unknown severity {severity!r}")
    with transaction.atomic():
        now = timezone.now()
        incident = Incident.objects.create(
            service=service,
            dedup_key=f"declared-{uuid.uuid4().hex}",
            title=one_line(title, MAX_TITLE),
            description=description,
            severity=severity,
            urgency=service.urgency_for(severity),
            created_at=now,
        )
        _write(
            incident,
            TimelineEntry.Kind.DECLARED,
            gettext_noop("Declared: %(title)s"),
            params={"title": incident.title},
            by=by,
            at=now,
        )
        _started(incident, now=now)
        _number(incident)
    logger.info("incident declared number=%s service=%s by=%s", incident.number, service.slug, by)
    return incident


def acknowledge(incident, *, by=None, actor_name="", channel=""):
    """Someone is on it. Acknowledging twice changes nothing; a resolved incident cannot be.

    `channel` (an AckChannel: link, admin, API, SMS, voice, integration …) goes into the timeline entry's data,
    for the reports; entries written before channels were recorded have none ("unknown").
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Status.RESOLVED:
            raise TransitionError(
                _("Incident #%(number)s is already resolved and cannot be acknowledged.") % {"number": incident.number}
            )
        if incident.status == Status.ACKNOWLEDGED:
            return incident
        incident.status = Status.ACKNOWLEDGED
        incident.acknowledged_at = timezone.now()
        incident.acknowledged_by = by
        incident.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
        _write(
            incident,
            TimelineEntry.Kind.ACKNOWLEDGED,
            gettext_noop("Acknowledged"),
            params={},
            by=by,
            actor_name=actor_name,
            data={"channel": channel} if channel else None,
        )
        escalation.stop(incident, state=Escalation.State.ACKNOWLEDGED)
        escalation.notify_paged_people(incident, purpose=Notification.Purpose.ACKNOWLEDGED)
    logger.info("incident acknowledged number=%s by=%s", incident.number, by or actor_name)
    return incident


def resolve(incident, *, by=None, actor_name="", message="", params=None):
    """The incident is over. Resolving twice is an error. `message` with `params`: a msgid (see timeline.record)."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Status.RESOLVED:
            raise TransitionError(_("Incident #%(number)s is already resolved.") % {"number": incident.number})
        incident.status = Status.RESOLVED
        incident.resolved_at = timezone.now()
        incident.resolved_by = by
        incident.save(update_fields=["status", "resolved_at", "resolved_by"])
        if message:  # what the person wrote, shown as written, or a msgid with its params
            _write(incident, TimelineEntry.Kind.RESOLVED, message, params=params, by=by, actor_name=actor_name)
        else:
            _write(
                incident,
                TimelineEntry.Kind.RESOLVED,
                gettext_noop("Resolved"),
                params={},
                by=by,
                actor_name=actor_name,
            )
        escalation.stop(incident, state=Escalation.State.RESOLVED)
        escalation.notify_paged_people(incident, purpose=Notification.Purpose.RESOLVED)
        events.emit(incident, IncidentEvent.Kind.RESOLVED)
    logger.info("incident resolved number=%s by=%s", incident.number, by or actor_name)
    return incident


def add_note(incident, *, by, message):
    """A responder writes on the timeline."""
    message = (message or "").strip()
    if not message:
        raise ValueError(_("A note cannot be empty."))
    if len(message) > MAX_NOTE_LENGTH:
        raise ValueError(_("A note is at most %(max)s characters.") % {"max": MAX_NOTE_LENGTH})
    with transaction.atomic():
        return _write(incident, TimelineEntry.Kind.NOTE, message, by=by)


def change_severity(incident, *, severity, reason="", by=None, actor_name=""):
    """Raise or lower the incident's severity; stakeholder cadence and notices follow (an event).

    `reason` (one line, cut to MAX_REASON characters) goes on the timeline and in the event; people give one
    (the admin and the API require it), monitoring may not.
    """
    if severity not in Severity.values:
        raise ValueError(_("Unknown severity %(severity)s.") % {"severity": severity})
    reason = one_line(reason, MAX_REASON)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        old = incident.severity
        if old == severity:
            return incident
        incident.severity = severity
        incident.save(update_fields=["severity"])
        params = {"old": old, "new": severity}
        if reason:
            message = gettext_noop("Severity changed from %(old)s to %(new)s: %(reason)s")
            params["reason"] = reason
        else:
            message = gettext_noop("Severity changed from %(old)s to %(new)s")
        _write(
            incident,
            TimelineEntry.Kind.SEVERITY,
            message,
            params=params,
            by=by,
            actor_name=actor_name,
            data={"from": old, "to": severity, "reason": reason},
        )
        events.emit(incident, IncidentEvent.Kind.SEVERITY_CHANGED, old=old, new=severity, reason=reason)
        if incident.urgency == Urgency.LOW and incident.service.urgency_for(severity) == Urgency.HIGH:
            _set_urgency(
                incident,
                Urgency.HIGH,
                gettext_noop("Urgency raised to high with the severity."),
                {},
                by=by,
                actor_name=actor_name,
            )
    logger.info("incident severity number=%s from=%s to=%s", incident.number, old, severity)
    return incident


def change_type(incident, *, incident_type, by=None, actor_name=""):
    """Say what kind of trouble the incident is (blank: not set); plays for that type follow (an event)."""
    if incident_type and incident_type not in IncidentType.values:
        raise ValueError(
            _("Unknown incident type %(type)s; expected one of %(choices)s.")
            % {"type": incident_type, "choices": ", ".join(IncidentType.values)}
        )
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        old = incident.incident_type
        if old == incident_type:
            return incident
        incident.incident_type = incident_type
        incident.save(update_fields=["incident_type"])
        unset = timeline.translated(gettext_noop("not set"))
        _write(
            incident,
            TimelineEntry.Kind.INCIDENT_TYPE,
            gettext_noop("Type changed from %(old)s to %(new)s"),
            params={
                "old": timeline.label(IncidentType(old)) if old else unset,
                "new": timeline.label(IncidentType(incident_type)) if incident_type else unset,
            },
            by=by,
            actor_name=actor_name,
            data={"from": old, "to": incident_type},
        )
        events.emit(incident, IncidentEvent.Kind.TYPE_CHANGED, old=old, new=incident_type)
    logger.info("incident type number=%s from=%s to=%s", incident.number, old, incident_type)
    return incident


def _set_urgency(incident, urgency, message, params, *, by=None, actor_name=""):
    old = incident.urgency
    incident.urgency = urgency
    Incident.objects.filter(pk=incident.pk).update(urgency=urgency)
    _write(
        incident,
        TimelineEntry.Kind.URGENCY,
        message,
        params=params,
        by=by,
        actor_name=actor_name,
        data={"from": old, "to": urgency},
    )
    escalation.reconsider(incident)


def change_urgency(incident, *, urgency, reason, by=None, actor_name=""):
    """A person makes the incident high urgency (it pages now, at any hour) or low (it waits for support hours
    before its next step), saying why."""
    if urgency not in Urgency.values:
        raise ValueError(_("Unknown urgency %(urgency)s; use high or low.") % {"urgency": urgency})
    reason = one_line(reason, MAX_REASON)
    if not reason:
        raise ValueError(_("Say why the urgency changes."))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service").get(pk=incident.pk)
        if incident.urgency == urgency:
            return incident
        if incident.status == Status.RESOLVED:
            raise TransitionError(_("A resolved incident keeps its urgency."))
        old = incident.urgency
        _set_urgency(
            incident,
            urgency,
            gettext_noop("Urgency changed from %(old)s to %(new)s: %(reason)s"),
            {"old": old, "new": urgency, "reason": reason},
            by=by,
            actor_name=actor_name,
        )
    logger.info("incident urgency number=%s to=%s", incident.number, urgency)
    return incident


def escalate(incident, *, by=None, actor_name=""):
    """Fire the next step of the call chain now.

    An acknowledged incident goes back to triggered: whoever acknowledged asks
    for help. A resolved incident cannot be escalated; nor one without a chain.
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Status.RESOLVED:
            raise TransitionError(
                _("Incident #%(number)s is resolved and cannot be escalated.") % {"number": incident.number}
            )
        chain = Escalation.objects.select_for_update().filter(incident=incident).first()
        if chain is None and not getattr(incident.service, "escalation_policy_id", None):
            raise TransitionError(
                _("The service of incident #%(number)s has no escalation policy.") % {"number": incident.number}
            )
        if incident.status == Status.ACKNOWLEDGED:
            incident.status = Status.TRIGGERED
            incident.save(update_fields=["status"])
        if chain is not None and chain.state != Escalation.State.RUNNING:
            if chain.state == Escalation.State.EXHAUSTED:
                # An exhausted chain runs one more round.
                chain.snapshot = {**chain.snapshot, "repeat": chain.repeat + 1}
            chain.state = Escalation.State.RUNNING
            chain.save(update_fields=["state", "snapshot"])
        _write(
            incident,
            TimelineEntry.Kind.ESCALATED,
            gettext_noop("Escalated"),
            params={},
            by=by,
            actor_name=actor_name,
        )
    if chain is None:
        escalation.start(incident.pk)
    else:
        escalation.advance(chain.pk, force=True, by=by or actor_name)
    logger.info("incident escalated number=%s by=%s", incident.number, by or actor_name)
    return Incident.objects.get(pk=incident.pk)


def merge(incident, *, into, by=None):
    """Merge a duplicate into the incident that carries on: `incident` is resolved as merged into `into`.

    Its alerts and their count move to `into`, its call chain stops and its pending pages are cancelled (as
    any resolution does; so does its stakeholder cadence), both timelines link to each other, and later
    alerts with its dedup key join `into` while `into` is open. `into` changes nothing else: its stakeholders
    hear nothing new. Both must be open: a resolved incident's alerts are history and its key already opens
    new incidents, and a resolved target would swallow live alerts with nobody paged. Returns `into`.
    """
    if incident.pk == into.pk:
        raise TransitionError(_("An incident cannot be merged into itself."))
    with transaction.atomic():
        source, target = merging.lock_both(incident, into)
        for locked in (source, target):
            if locked.status == Status.RESOLVED:
                raise TransitionError(
                    _("Incident #%(number)s is resolved: only open incidents are merged.") % {"number": locked.number}
                )
        moved = merging.move_alerts(source, target)
        merging.carry_keys(source, target)
        merging.link(source, target, by=by, moved=moved)
        resolve(source, by=by)
    logger.info("incident merged number=%s into=%s alerts=%s by=%s", source.number, target.number, moved, by)
    return Incident.objects.get(pk=target.pk)
