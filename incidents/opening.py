"""Opening incidents from alerts: one open incident per service and key, numbered, with what it starts with.

A trigger joins the service's open incident with its key, or opens one: the
`NewIncident` is built before its transaction, and written by `open_or_join`
(inside the caller's transaction) or, on PostgreSQL, by `open_at_once` in one
statement. Incident numbers come from one counter row, locked until the
incident's transaction commits (see IncidentCounter).
"""

import functools
import logging

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection
from django.db.models import DEFERRED, F
from django.utils import timezone
from django.utils.translation import gettext_noop

from incidents import escalation, events, timeline
from incidents.models import (
    OPEN_STATUS_SQL,
    DedupAlias,
    Incident,
    IncidentCounter,
    IncidentEvent,
    Status,
    TimelineEntry,
)
from incidents.models.merging import services_with_aliases
from project import rows
from project.rows import insert_unless_taken
from project.text import one_line

logger = logging.getLogger(__name__)

MAX_TITLE = 1024  # a title is one line: the alert's own text stays in its payload


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
    """Undo `_next_number()`, whose lock on the counter kept every other creator out since."""
    IncidentCounter.objects.filter(pk=1).update(value=F("value") - 1)


def _numbering_sql():
    quote = connection.ops.quote_name
    counter, table = quote(IncidentCounter._meta.db_table), quote(Incident._meta.db_table)
    taken = f"taken AS (UPDATE {counter} SET value = value + 1 WHERE id = 1 RETURNING value)"  # noqa: S608
    numbered = (
        f"numbered AS (UPDATE {table} SET number = taken.value FROM taken WHERE {table}.id = %s RETURNING number)"  # noqa: S608
    )
    return [taken, numbered], "number FROM numbered"


def give_number(incident):
    """Give a new incident its number: the last write before its transaction commits (see IncidentCounter).

    On PostgreSQL one statement, the counter's lock held one round trip less: inside a `rows.together()`
    block, the block's own statement; elsewhere after the block's rows. (A triggered incident takes its number
    before its row: see open_or_join and open_at_once.)
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


def begin(incident, *, now):
    """What a new incident starts, in its own transaction: its call chain, due now, and the event others follow."""
    escalation.begin(incident, now=now, new=True)
    events.emit(incident, IncidentEvent.Kind.TRIGGERED)


class NewIncident:
    """A new incident and the rows it starts with (its timeline entry, call chain and event), built before the
    transaction that writes them (see `open_or_join` and `open_at_once`).

    On SQLite a transaction holds the database's one write lock from its start, so what is built before it
    begins is built while other requests write. A new incident starts with `alert_count` alerts; `urgency` (a
    routing rule's) overrides the service's urgency for the severity.
    """

    def __init__(self, **fields):
        self.fields = fields  # to build another one (see open_or_join)
        self.incident = incident = _new_incident(**fields)
        with rows.prepared() as self.rows:
            timeline.record(
                incident,
                TimelineEntry.Kind.TRIGGERED,
                gettext_noop("Triggered: %(title)s"),
                params={"title": incident.title},
                actor_name=fields.get("actor_name", ""),
                data=fields.get("data"),
                at=incident.created_at,
            )
            begin(incident, now=incident.created_at)
        # Numbered once the counter is locked, just before the row is written.
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
    # The number first: the counter's row (on SQLite the database) stays locked until commit, so the number is
    # written with the row and given back if the row is not written. Every creator that may meet a concurrent
    # one's key takes the counter before the key (see open_at_once): none waits for a key while holding it.
    incident.number = _next_number()
    if not insert_unless_taken(incident, built=new.statement):
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
    rows.write_soon(new.rows)  # on PostgreSQL one statement: timeline entries, escalation, event
    _log_triggered(incident)
    return incident, True


def open_at_once(new, *, after=()):
    """PostgreSQL: write a NewIncident, its rows and its number in one statement, with the writable CTEs
    `after` (see `rows.insert_with_rows`: they read the new row from `inserted`); returns the incident.

    Outside a transaction, one round trip, and the counter of incident numbers is locked for that statement
    only. Returns None, writing nothing, on another database, for a service with merged keys, or when an
    incident with the key is open already (a concurrent creator's): the caller then goes through
    `open_or_join`.
    """
    incident = new.incident
    if connection.vendor != "postgresql" or incident.service_id in services_with_aliases():
        return None
    counter = connection.ops.quote_name(IncidentCounter._meta.db_table)
    # The counter's row, made by the first number if it is missing: a committed incident always has its number.
    taken = (
        f"taken AS (INSERT INTO {counter} (id, value) VALUES (1, 1) "  # noqa: S608
        f"ON CONFLICT (id) DO UPDATE SET value = {counter}.value + 1 RETURNING value)"
    )
    number = {"number": "(SELECT value FROM taken)"}
    if not rows.insert_with_rows(new.statement, new.rows, before=[(taken, [])], late=number, after=after):
        return None
    _log_triggered(incident)
    return incident


def _log_triggered(incident):
    logger.info(
        "incident triggered number=%s service=%s dedup_key=%s severity=%s",
        incident.number,
        incident.service.slug,
        incident.dedup_key,
        incident.severity,
    )


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
    return partial(
        service, id=pk, number=number, status=status, alert_count=alert_count, last_alert_at=at, dedup_key=dedup_key
    )


def partial(service, **values):
    """The service's incident as far as its row was just read or written (`values`, by attribute name); any
    other field is read from the database if it is used."""
    names = _attnames()
    incident = Incident.from_db(DEFAULT_DB_ALIAS, names, [values.get(name, DEFERRED) for name in names])
    incident.service_id = service.pk
    Incident.service.field.set_cached_value(incident, service)
    return incident


@functools.cache
def _attnames():
    return tuple(field.attname for field in Incident._meta.concrete_fields)


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
