"""The public status page: each service's public status, the active incidents, 90 days of history.

What it shows was set or written by a person (or by a service's explicit
opt-in): a service's status as last set, an incident once it has a public
update, each update's text as it was posted. No severity code, role name,
internal service name or alert text appears.

Everything is read in a constant number of queries whatever the number of
services, incidents and days: the page stays fast on a bad day.
"""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from comms import maintenance
from comms.models import Phase, PostIncidentSummary, StatusPageSettings, StatusUpdate
from comms.stakeholder_messages import render_markdown, status_zone
from incidents.models import (
    PUBLIC_STATUS_RANK,
    Incident,
    PublicStatus,
    Service,
    ServiceStatusChange,
    SeverityDefinition,
    Status,
)

HISTORY_DAYS = 90
OPERATIONAL = PublicStatus.OPERATIONAL


def status_labels():
    return dict(PublicStatus.choices)


def overall_labels():
    return {
        PublicStatus.OPERATIONAL: _("All systems operational"),
        PublicStatus.UNDER_MAINTENANCE: _("Maintenance in progress"),
        PublicStatus.DEGRADED_PERFORMANCE: _("Some systems are degraded"),
        PublicStatus.PARTIAL_OUTAGE: _("Partial outage"),
        PublicStatus.MAJOR_OUTAGE: _("Major outage"),
    }


def worst(statuses):
    return max(statuses, key=PUBLIC_STATUS_RANK.get, default=OPERATIONAL)


def public_incidents():
    """Incidents that have at least one public status update: only a person (or a service's opt-in) puts one there."""

    public = StatusUpdate.objects.filter(incident=OuterRef("pk"), public=True)
    # The post-incident summary comes with the incident (comms.post_incident): no query more per page.
    summary = PostIncidentSummary.objects.filter(incident=OuterRef("pk")).values("text")[:1]
    return Incident.objects.filter(Exists(public)).annotate(post_incident_summary_text=Subquery(summary))


def _attach_updates(incidents, language):
    """Give each incident its public updates (newest first), as they were posted, with the message as safe HTML."""
    by_incident = defaultdict(list)
    for update in StatusUpdate.objects.filter(incident__in=[i.pk for i in incidents], public=True).order_by(
        "-posted_at", "-id"
    ):
        by_incident[update.incident_id].append(update)
    impacts = {d.severity: d for d in SeverityDefinition.objects.all()}
    zone = status_zone()
    link = reverse("status-incident", args=[0])
    for incident in incidents:
        definition = impacts.get(incident.severity) or SeverityDefinition.default(incident.severity)
        incident.public_path = link.replace("/0/", f"/{incident.number}/")
        incident.public_updates = by_incident.get(incident.pk, [])
        for update in incident.public_updates:
            update.html = render_markdown(update.text_in(language))
            update.phase_label = Phase(update.phase).label
            update.posted = stamp(update.posted_at, zone)
        latest = incident.public_updates[0] if incident.public_updates else None
        incident.latest_update = latest
        incident.phase = latest.phase if latest else Phase.INVESTIGATING
        incident.next_update_at = latest.next_update_at if latest and incident.is_open else None
        incident.eta = next((u.eta for u in incident.public_updates if u.eta), None) if incident.is_open else None
        incident.impact = definition.impact_text
        incident.state = incident.service.public_status if incident.is_open else OPERATIONAL
        incident.next_update = stamp(incident.next_update_at, zone)
        incident.eta_stamp = stamp(incident.eta, zone)
        summary = getattr(incident, "post_incident_summary_text", None)
        incident.post_incident_summary_html = render_markdown(summary) if summary else None
    return incidents


def stamp(instant, zone):
    """(ISO 8601, what a reader sees) for an instant, or None; cheaper than the date filter on a busy page."""
    if instant is None:
        return None
    local = timezone.localtime(instant, zone)
    return {"iso": local.isoformat(), "text": local.strftime("%Y-%m-%d %H:%M ") + local.tzname()}


def _history_cells(days, service_days, labels):
    """One service's bar: a cell per day, built as one string (4,500 cells render in microseconds)."""
    cells = []
    for day in days:
        state = service_days.get(day, OPERATIONAL)
        cells.append(f'<li class="{state}" title="{day.isoformat()}: {labels[state]}"></li>')
    return mark_safe("".join(cells))  # noqa: S308 (dates and translated labels of our own)


def _services_with_carried_status(window_start):
    """Every service, with `carried`: its public status as the history window opens (None: never set)."""
    before = ServiceStatusChange.objects.filter(service=OuterRef("pk"), at__lt=window_start).order_by("-at", "-id")
    return list(Service.objects.annotate(carried=Subquery(before.values("status")[:1])).order_by("name"))


def _daily_history(services, days, window_start, now, zone):
    """{service id: {day: worst public status that day}} from the changes recorded in the window (one query)."""
    changes = defaultdict(list)
    for service_id, status, at in (
        ServiceStatusChange.objects.filter(at__gte=window_start, at__lte=now)
        .order_by("at", "id")
        .values_list("service_id", "status", "at")
    ):
        changes[service_id].append((timezone.localtime(at, zone).date(), status))
    history = {}
    for service in services:
        status = service.carried or OPERATIONAL
        pending = changes.get(service.pk, [])
        index, service_days = 0, {}
        for day in days:
            day_states = [status]  # the status carried in from the day before
            while index < len(pending) and pending[index][0] <= day:
                status = pending[index][1]
                day_states.append(status)
                index += 1
            if day == days[-1]:
                day_states.append(service.public_status)
            state = worst(day_states)
            if state != OPERATIONAL:
                service_days[day] = state
        history[service.pk] = service_days
    return history


def overview(*, now=None, language=None, with_history=False):
    """Everything the status page shows, as plain data (`with_history`: each day's state as a list too)."""

    now = now or timezone.now()
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    zone = status_zone()
    today = timezone.localtime(now, zone).date()
    days = [today - timedelta(days=offset) for offset in range(HISTORY_DAYS - 1, -1, -1)]
    window_start = timezone.make_aware(timezone.datetime.combine(days[0], timezone.datetime.min.time()), zone)
    services = _services_with_carried_status(window_start)
    history = _daily_history(services, days, window_start, now, zone)
    window = public_incidents().filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=window_start), created_at__lte=now
    )
    active = list(window.exclude(status=Status.RESOLVED).select_related("service").order_by("-created_at"))
    recent = list(window.filter(status=Status.RESOLVED).select_related("service").order_by("-resolved_at")[:10])
    _attach_updates(active + recent, language)
    all_labels = status_labels()
    labels = {key: escape(value) for key, value in all_labels.items()}
    rows = []
    for service in sorted(services, key=lambda s: s.public_label.lower()):
        service_days = history.get(service.pk, {})
        rows.append(
            {
                "service": service,
                "name": service.public_label,
                "description": service.public_description,
                "state": service.public_status,
                "state_label": all_labels[service.public_status],
                "bar": _history_cells(days, service_days, labels),
                "history": (
                    [{"date": d.isoformat(), "status": service_days.get(d, OPERATIONAL)} for d in days]
                    if with_history
                    else None
                ),
                "uptime_days": sum(1 for d in days if d not in service_days),
            }
        )
    overall = worst(row["state"] for row in rows)
    return {
        "now": now,
        "days": days,
        "services": rows,
        "overall": overall,
        "overall_label": overall_labels()[overall],
        "active": active,
        "recent": recent,
        "maintenance": [
            {**item, "start_stamp": stamp(item["start"], zone), "end_stamp": stamp(item["end"], zone)}
            for item in maintenance.scheduled(now=now)
        ],
        "brand": StatusPageSettings.current(),
    }


def incident_detail(number, *, language=None):
    """A public incident with all its public updates, or None."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    incident = public_incidents().select_related("service").filter(number=number).first()
    if incident is None:
        return None
    _attach_updates([incident], language)
    return incident
