"""Incident reports: how many incidents, how fast they were acknowledged and resolved, who was paged and when.

The figures of a period [start, end) for a set of services (those a person may see, narrowed to one service or
one team):

- incidents: those created in the period (merged duplicates left out: they were another incident's alerts),
  counted by severity and urgency;
- time to acknowledge: from the incident's creation to its *first* acknowledgement (the first "acknowledged"
  entry of its timeline: an incident escalated by hand goes back to triggered and may be acknowledged again);
  time to resolve: from its creation to its resolution; each as median and 90th percentile in seconds, by
  linear interpolation between the closest ranks (`percentile`);
- a page is one `Page` row: one person paged for an incident at one step of one round of its call chain (the
  several messages of that page, by several contact methods, are still one page). Pages are counted when they
  were made, in the period, for incidents of the services in scope;
- off-hours pages: outside 08:00–20:00 Monday to Friday on the paged person's own clock (their profile's time
  zone, else the installation's); weekends are off-hours all day;
- sleep interruptions: pages between 22:00 and 07:00 on the person's clock;
- escalated beyond the first step: incidents that paged someone at a later step or in a later round;
- acknowledgements by channel: the channel of each incident's first acknowledgement ("unknown" for those
  recorded before channels were).

Every figure is a fixed number of queries, whatever the number of incidents: counts are aggregated in the
database, percentiles computed here over the values.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from incidents.models import AckChannel, Incident, Page, Service, Severity, TimelineEntry, Urgency
from people.models import Team
from people.teams import is_org_admin, team_ids, visible
from project.api import as_id
from project.clock import ClockError, get_zone, in_range, localize

DEFAULT_DAYS = 30
MAX_DAYS = 366
WORKDAY_START, WORKDAY_END = 8, 20  # off-hours: outside [08:00, 20:00) on weekdays, and all weekend
SLEEP_START, SLEEP_END = 22, 7  # sleep interruptions: [22:00, 07:00)

# Who may read reports: those who read incidents and schedules (Responders and Managers; not Stakeholders,
# who read incidents but not who is on call or how often they are woken).
REPORT_PERMISSIONS = ("incidents.view_incident", "rotations.view_schedule")


def may_read_reports(user):
    return bool(user and user.is_authenticated and user.has_perms(REPORT_PERMISSIONS))


class ReportError(ValueError):
    """Bad report input: `field` names the parameter, `status` is 400 (unreadable) or 404 (unknown or not
    visible to the person)."""

    def __init__(self, field, message, status=400):
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def _instant(raw, field, zone, *, is_end):
    """An aware instant from an ISO 8601 date or datetime; a date is local midnight in `zone` (an end date
    counts its whole day: the period ends at the next midnight), a datetime without offset is read in `zone`."""
    text = raw.strip().replace(" ", "+")
    try:
        day = parse_date(text)
        moment = None if day else parse_datetime(text)
    except ValueError:
        day = moment = None
    if day is None and moment is None:
        raise ReportError(field, _("Not an ISO 8601 date or date and time, e.g. 2026-10-01 or 2026-10-01T08:00Z."))
    try:
        if day is not None:
            if is_end:
                day += timedelta(days=1)
            moment = localize(datetime(day.year, day.month, day.day), zone)
        elif moment.tzinfo is None:
            moment = localize(moment, zone)
    except (OverflowError, ValueError):
        moment = None
    if moment is None or not in_range(moment):
        raise ReportError(field, _("Give a date between the years 1970 and 9000."))
    return moment


def parse_period(start_raw, end_raw, *, zone, now=None):
    """The report's period from its `start` and `end` parameters (strings, or empty for the defaults: the
    last 30 days up to now). ReportError when unreadable, empty or longer than MAX_DAYS."""
    now = now or timezone.now()
    end = _instant(end_raw, "end", zone, is_end=True) if end_raw else None
    start = _instant(start_raw, "start", zone, is_end=False) if start_raw else None
    if end is None:
        end = now if start is None else min(now, start + timedelta(days=DEFAULT_DAYS))
        if start is not None and end <= start:
            end = start + timedelta(days=DEFAULT_DAYS)
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS)
    if end <= start:
        raise ReportError("end", _("The end must be after the start."))
    if end - start > timedelta(days=MAX_DAYS):
        raise ReportError("end", _("A report covers at most %(days)s days.") % {"days": MAX_DAYS})
    return Period(start, end)


def person_zone(name):
    """A person's zone from their profile's time zone name (empty or unknown: the installation's)."""
    try:
        return get_zone(name or settings.TIME_ZONE)
    except ClockError:
        return get_zone(settings.TIME_ZONE)


def visible_team(user, raw):
    """The team named by `raw` (an id) if the person may see its figures: a member, or an organisation
    administrator. ReportError 404 otherwise, 400 when not an id."""
    if raw in (None, ""):
        return None
    pk = as_id(str(raw).strip())
    if pk is None:
        raise ReportError("team", _("Give a team id."))
    if not is_org_admin(user) and pk not in team_ids(user):
        raise ReportError("team", _("No such team."), status=404)
    team = Team.objects.filter(pk=pk).first()
    if team is None:
        raise ReportError("team", _("No such team."), status=404)
    return team


def scoped_services(user, *, service=None, team=None):
    """The services whose incidents the report counts: those the person may see, narrowed to `service` (an id
    or slug) or `team` (a Team). ReportError 404 for a service they may not see or that does not exist."""
    services = visible(Service.objects.all(), user)
    if team is not None:
        services = services.filter(team=team)
    if service not in (None, ""):
        raw = str(service).strip().replace("\x00", "")  # PostgreSQL refuses NUL in a parameter
        match = Q(slug=raw[:100])
        if (pk := as_id(raw)) is not None:
            match |= Q(pk=pk)
        found = list(services.filter(match).values_list("pk", flat=True)[:1])
        if not found:
            raise ReportError("service", _("No such service."), status=404)
        services = Service.objects.filter(pk=found[0])
    return services


def percentile(values, p):
    """The p-th percentile (0–100) of `values` by linear interpolation between closest ranks (the median of
    60, 120, 300, 600 is 210; their 90th percentile 510); None without values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value, 1)


def summary(values):
    """{"median": s, "p90": s}; both None without values."""
    return {"median": percentile(values, 50), "p90": percentile(values, 90)}


def off_hours(local):
    """Whether a local wall-clock time is outside working hours (weekday 08:00–20:00)."""
    return local.weekday() >= 5 or not WORKDAY_START <= local.hour < WORKDAY_END


def sleeping(local):
    """Whether a local wall-clock time is in the night (22:00–07:00)."""
    return local.hour >= SLEEP_START or local.hour < SLEEP_END


def person_summary(pk, username, first_name, last_name):
    name = f"{first_name} {last_name}".strip()
    return {"id": pk, "username": username, "name": name or username}


def page_counts(services, period):
    """{user id: {"user", "pages", "off_hours_pages", "sleep_interruptions"}} for the pages made in the period
    for incidents of `services`; one query."""
    rows = (
        Page.objects.filter(incident__service__in=services, created_at__gte=period.start, created_at__lt=period.end)
        .exclude(incident__merged_into__isnull=False)
        .values_list(
            "user_id",
            "user__username",
            "user__first_name",
            "user__last_name",
            "user__piquet_profile__time_zone",
            "created_at",
        )
        .order_by()
    )
    people = {}
    zones = {}
    for user_id, username, first, last, zone_name, at in rows:
        person = people.get(user_id)
        if person is None:
            person = people[user_id] = {
                "user": person_summary(user_id, username, first, last),
                "pages": 0,
                "off_hours_pages": 0,
                "sleep_interruptions": 0,
            }
            zones[user_id] = person_zone(zone_name)
        local = at.astimezone(zones[user_id])
        person["pages"] += 1
        person["off_hours_pages"] += off_hours(local)
        person["sleep_interruptions"] += sleeping(local)
    return people


def _incidents(services, period):
    return Incident.objects.filter(
        service__in=services, created_at__gte=period.start, created_at__lt=period.end, merged_into__isnull=True
    ).order_by()


def _channels(incidents):
    """{channel: count} of each incident's first acknowledgement; one query."""
    entries = (
        TimelineEntry.objects.filter(incident__in=incidents.values("pk"), kind=TimelineEntry.Kind.ACKNOWLEDGED)
        .order_by("incident_id", "at", "id")
        .values_list("incident_id", "data")
    )
    counts = {}
    seen = set()
    for incident_id, data in entries:
        if incident_id in seen:
            continue
        seen.add(incident_id)
        channel = data.get("channel") if isinstance(data, dict) else None
        if channel not in AckChannel.values:
            channel = AckChannel.UNKNOWN
        counts[channel] = counts.get(channel, 0) + 1
    return counts


def _counted(incidents, field, choices):
    counts = dict.fromkeys(choices, 0)
    for value, n in incidents.values(field).annotate(n=Count("id")).values_list(field, "n"):
        counts[value] = n
    return counts


def incident_report(*, services, period):
    """The figures of the period for `services` (a queryset), as the API returns them; seven queries."""
    incidents = _incidents(services, period)
    by_severity = _counted(incidents, "severity", Severity.values)
    by_urgency = _counted(incidents, "urgency", Urgency.values)
    first_ack = Min("timeline__at", filter=Q(timeline__kind=TimelineEntry.Kind.ACKNOWLEDGED))
    to_ack, to_resolve = [], []
    for created, acked, acknowledged_at, resolved in incidents.annotate(first_ack=first_ack).values_list(
        "created_at", "first_ack", "acknowledged_at", "resolved_at"
    ):
        acked = acked or acknowledged_at
        if acked is not None:
            to_ack.append(max(0.0, (acked - created).total_seconds()))
        if resolved is not None:
            to_resolve.append(max(0.0, (resolved - created).total_seconds()))
    escalated = (
        Page.objects.filter(incident__in=incidents.values("pk"))
        .filter(Q(step__gte=1) | Q(round__gte=1))
        .values("incident_id")
        .distinct()
        .count()
    )
    pages = sorted(page_counts(services, period).values(), key=lambda row: (-row["pages"], row["user"]["username"]))
    return {
        "start": period.start,
        "end": period.end,
        "count": sum(by_severity.values()),
        "by_severity": by_severity,
        "by_urgency": by_urgency,
        "time_to_acknowledge": summary(to_ack),
        "time_to_resolve": summary(to_resolve),
        "pages_by_person": pages,
        "pages": sum(row["pages"] for row in pages),
        "off_hours_pages": sum(row["off_hours_pages"] for row in pages),
        "sleep_interruptions": sum(row["sleep_interruptions"] for row in pages),
        "escalated_beyond_first_step": escalated,
        "acks_by_channel": _channels(incidents),
    }


def incident_csv_rows(report):
    """The report as CSV rows: figure, key, value (one row per severity, urgency, person, channel …)."""
    yield ["figure", "key", "value"]
    yield ["start", "", report["start"].isoformat()]
    yield ["end", "", report["end"].isoformat()]
    yield ["count", "", report["count"]]
    for group in ("by_severity", "by_urgency", "acks_by_channel"):
        for key, value in report[group].items():
            yield [group, key, value]
    for group in ("time_to_acknowledge", "time_to_resolve"):
        for key, value in report[group].items():
            yield [group, key, "" if value is None else value]
    for key in ("pages", "off_hours_pages", "sleep_interruptions", "escalated_beyond_first_step"):
        yield [key, "", report[key]]
    for row in report["pages_by_person"]:
        for key in ("pages", "off_hours_pages", "sleep_interruptions"):
            yield [f"person_{key}", row["user"]["username"], row[key]]
