"""The public status page: each service's state, the active incidents, 90 days of history.

Everything is read in a constant number of queries whatever the number of
services, incidents and days: the page stays fast on a bad day.
"""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from comms.models import MessageTemplate, Phase, StatusUpdate
from comms.stakeholder_messages import render_markdown, status_zone, when
from comms.wording import DEFAULT_TEMPLATES
from incidents.models import Incident, IncidentRole, Service, SeverityDefinition, Status

HISTORY_DAYS = 90
OPERATIONAL, DEGRADED, MAJOR = "operational", "degraded", "major_outage"
RANK = {OPERATIONAL: 0, DEGRADED: 1, MAJOR: 2}


def state_labels():
    return {OPERATIONAL: _("Operational"), DEGRADED: _("Degraded performance"), MAJOR: _("Major outage")}


def state_of_severity(severity):
    return MAJOR if severity == "SEV1" else DEGRADED


def public_incidents():
    """Incidents that have at least one public status update."""

    public = StatusUpdate.objects.filter(incident=OuterRef("pk"), public=True)
    return Incident.objects.filter(Exists(public))


class NoticeWriter:
    """Writes first notices in the reader's language for many incidents with three queries."""

    def __init__(self, incidents, language):

        self.language = language
        templates = dict(
            MessageTemplate.objects.filter(purpose="first_notice", language__in=[language, settings.LANGUAGE_CODE])
            .order_by("language")
            .values_list("language", "body")
        )
        self.template = templates.get(language) or templates.get(settings.LANGUAGE_CODE)
        if self.template is None:
            self.template = DEFAULT_TEMPLATES["first_notice"].get(language, DEFAULT_TEMPLATES["first_notice"]["en"])
        self.commanders = {
            r.incident_id: r.user.get_full_name() or r.user.get_username()
            for r in IncidentRole.objects.filter(incident__in=incidents, role="commander").select_related("user")
        }
        self.definitions = dict(SeverityDefinition.objects.values_list("severity", "description"))

    def text(self, update, incident):
        from string import Template

        with translation.override(self.language):
            values = {
                "number": incident.number,
                "title": incident.title,
                "service": incident.service.name,
                "severity": incident.severity,
                "severity_description": self.definitions.get(incident.severity, incident.severity),
                "commander": self.commanders.get(incident.pk) or _("being assigned"),
                "next_update": when(update.next_update_at) or _("when there is news"),
                "eta": when(update.eta) or _("not known yet"),
            }
        return Template(self.template).safe_substitute(values)


def _attach_updates(incidents, language):
    """Give each incident its public updates (newest first), with the message as safe HTML."""
    by_incident = defaultdict(list)
    for update in StatusUpdate.objects.filter(incident__in=[i.pk for i in incidents], public=True).order_by(
        "-posted_at", "-id"
    ):
        by_incident[update.incident_id].append(update)
    notices = NoticeWriter([i.pk for i in incidents], language)
    zone = status_zone()
    link = reverse("status-incident", args=[0])
    for incident in incidents:
        incident.public_path = link.replace("/0/", f"/{incident.number}/")
        incident.public_updates = by_incident.get(incident.pk, [])
        for update in incident.public_updates:
            text = update.message
            if update.kind == StatusUpdate.Kind.NOTICE:
                text = notices.text(update, incident)
            update.html = render_markdown(text)
            update.phase_label = Phase(update.phase).label
            update.posted = stamp(update.posted_at, zone)
        latest = incident.public_updates[0] if incident.public_updates else None
        incident.latest_update = latest
        incident.phase = latest.phase if latest else Phase.INVESTIGATING
        incident.next_update_at = latest.next_update_at if latest and incident.is_open else None
        incident.eta = next((u.eta for u in incident.public_updates if u.eta), None) if incident.is_open else None
        incident.state = state_of_severity(incident.severity) if incident.is_open else OPERATIONAL
        incident.next_update = stamp(incident.next_update_at, zone)
        incident.eta_stamp = stamp(incident.eta, zone)
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


def overview(*, now=None, language=None, with_history=False):
    """Everything the status page shows, as plain data (`with_history`: each day's state as a list too)."""

    now = now or timezone.now()
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    zone = status_zone()
    today = timezone.localtime(now, zone).date()
    days = [today - timedelta(days=offset) for offset in range(HISTORY_DAYS - 1, -1, -1)]
    window_start = timezone.make_aware(timezone.datetime.combine(days[0], timezone.datetime.min.time()), zone)
    services = list(Service.objects.order_by("name"))
    window = public_incidents().filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=window_start), created_at__lte=now
    )
    labels = {key: escape(value) for key, value in state_labels().items()}
    history = defaultdict(dict)
    current = {}
    for service_id, severity, created_at, resolved_at, status in window.values_list(
        "service_id", "severity", "created_at", "resolved_at", "status"
    ):
        state = state_of_severity(severity)
        first = max(timezone.localtime(created_at, zone).date(), days[0])
        last = timezone.localtime(resolved_at or now, zone).date()
        service_days = history[service_id]
        day = first
        while day <= last:
            if RANK[state] > RANK[service_days.get(day, OPERATIONAL)]:
                service_days[day] = state
            day += timedelta(days=1)
        if status != Status.RESOLVED and RANK[state] > RANK[current.get(service_id, OPERATIONAL)]:
            current[service_id] = state
    active = list(window.exclude(status=Status.RESOLVED).select_related("service").order_by("-created_at"))
    recent = list(window.filter(status=Status.RESOLVED).select_related("service").order_by("-resolved_at")[:10])
    _attach_updates(active, language)
    all_labels = state_labels()
    rows = []
    for service in services:
        state = current.get(service.pk, OPERATIONAL)
        service_days = history.get(service.pk, {})
        rows.append(
            {
                "service": service,
                "state": state,
                "state_label": all_labels[state],
                "bar": _history_cells(days, service_days, labels),
                "history": (
                    [{"date": d.isoformat(), "state": service_days.get(d, OPERATIONAL)} for d in days]
                    if with_history
                    else None
                ),
                "uptime_days": sum(1 for d in days if d not in service_days),
            }
        )
    worst = max((row["state"] for row in rows), key=RANK.get, default=OPERATIONAL)
    return {
        "now": now,
        "days": days,
        "services": rows,
        "overall": worst,
        "overall_label": {
            OPERATIONAL: _("All systems operational"),
            DEGRADED: _("Some systems are degraded"),
            MAJOR: _("Major outage"),
        }[worst],
        "active": active,
        "recent": recent,
    }


def incident_detail(number, *, language=None):
    """A public incident with all its public updates, or None."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    incident = public_incidents().select_related("service").filter(number=number).first()
    if incident is None:
        return None
    _attach_updates([incident], language)
    return incident
