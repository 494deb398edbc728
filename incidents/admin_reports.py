"""The Reports page of the admin: incident figures and on-call load for a service, a team, a schedule and a
period, as tables and charts (static SVG drawn here with pygal), with CSV downloads from the API.

Mixed into the incident admin (its URL is /admin/incidents/incident/reports/) and listed on the index under
Incidents for those who may read reports (Responders and Managers).
"""

import base64
import math
from datetime import timedelta
from urllib.parse import urlencode

import pygal
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pygal.style import Style

from incidents import reports, reports_load
from incidents.models import AckChannel, Service, Severity, Urgency
from people.middleware import viewer_zone
from people.models import Team
from people.teams import is_org_admin, team_ids, visible
from project.templatetags.piquet_time import format_instant
from rotations.models import Schedule

CHART_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#333",
    foreground_strong="#111",
    foreground_subtle="#666",
    colors=("#417690", "#b91c1c", "#ca8a04", "#15803d", "#6b21a8"),
    font_family="sans-serif",
)


class ReportForm(forms.Form):
    service = forms.ModelChoiceField(
        label=_("service"), queryset=Service.objects.none(), required=False, empty_label=_("All services")
    )
    team = forms.ModelChoiceField(
        label=_("team"), queryset=Team.objects.none(), required=False, empty_label=_("All teams")
    )
    schedule = forms.ModelChoiceField(
        label=_("schedule"), queryset=Schedule.objects.none(), required=False, empty_label=_("All schedules")
    )
    start = forms.DateField(label=_("from"), required=False, help_text=_("First day, in your time zone."))
    end = forms.DateField(label=_("to"), required=False, help_text=_("Last day (included)."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["service"].queryset = visible(Service.objects.all(), user).order_by("name")
        teams = Team.objects.order_by("name")
        self.fields["team"].queryset = teams if is_org_admin(user) else teams.filter(pk__in=team_ids(user))
        self.fields["schedule"].queryset = visible(Schedule.objects.all(), user).order_by("name")
        for name in ("start", "end"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"})

    def clean(self):
        data = super().clean()
        zone = viewer_zone(self.user)
        try:
            self.period = reports.parse_period(
                data["start"].isoformat() if data.get("start") else "",
                data["end"].isoformat() if data.get("end") else "",
                zone=zone,
            )
        except reports.ReportError as exc:
            self.add_error(exc.field, exc.message)
        return data


def _duration(seconds):
    """Seconds as a short duration: "45 s", "3 min 30 s", "2 h 05 min"; "—" for none."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return gettext("%(s)d s") % {"s": seconds}
    if seconds < 3600:
        return gettext("%(m)d min %(s)02d s") % {"m": seconds // 60, "s": seconds % 60}
    return gettext("%(h)d h %(m)02d min") % {"h": seconds // 3600, "m": seconds % 3600 // 60}


def _chart_image(chart):
    """The chart as an <img> source: static SVG (no JavaScript, nothing loaded from elsewhere)."""
    svg = chart.render(is_unicode=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _whole_numbers(series, stacked):
    """Value-axis labels for counts: whole numbers only, about ten of them."""
    columns = list(zip(*(values for _name, values in series), strict=True))
    highest = max((sum(column) if stacked else max(column) for column in columns), default=0)
    step = max(1, math.ceil(highest / 10))
    return list(range(0, highest + step, step))


def _bar(title, labels, series, *, horizontal=False, stacked=False, counts=True):
    kind = pygal.HorizontalStackedBar if horizontal and stacked else pygal.StackedBar if stacked else pygal.Bar
    if horizontal and not stacked:
        kind = pygal.HorizontalBar
    chart = kind(
        js=[],  # pygal's tooltips load their script from a CDN: none here
        disable_xml_declaration=True,
        style=CHART_STYLE,
        width=640,
        height=max(260, 32 * len(labels) + 120) if horizontal else 300,
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        print_values=False,
        truncate_label=-1,
    )
    if counts:
        chart.y_labels = _whole_numbers(series, stacked)
    chart.title = str(title)
    chart.x_labels = [str(label) for label in labels]
    for name, values in series:
        chart.add(str(name), values)
    return {"title": title, "src": _chart_image(chart)}


def _charts(figures, load):
    charts = []
    if figures["count"]:
        charts.append(
            _bar(
                _("Incidents by severity"),
                list(figures["by_severity"]),
                [(_("incidents"), list(figures["by_severity"].values()))],
            )
        )
    people = figures["pages_by_person"]
    if people:
        charts.append(
            _bar(
                _("Pages per person"),
                [row["user"]["name"] for row in people],
                [
                    (_("working hours"), [row["pages"] - row["off_hours_pages"] for row in people]),
                    (_("off-hours"), [row["off_hours_pages"] for row in people]),
                ],
                horizontal=True,
                stacked=True,
            )
        )
    if load["rows"]:
        charts.append(
            _bar(
                _("On-call hours per person"),
                [row["user"]["name"] for row in load["rows"]],
                [(_("hours"), [round(row["oncall_seconds"] / 3600, 1) for row in load["rows"]])],
                horizontal=True,
                counts=False,
            )
        )
    return charts


def _labelled(counts, choices):
    return [(choices(key).label if key in choices.values else key, n) for key, n in counts.items()]


class ReportsAdmin:
    """The Reports page of the incident admin."""

    def report_urls(self):
        return [path("reports/", self.admin_site.admin_view(self.reports_view), name="incidents_incident_reports")]

    def reports_view(self, request):
        user = request.user
        if not reports.may_read_reports(user):
            raise PermissionDenied
        if request.GET:
            form = ReportForm(request.GET, user=user)
        else:  # the last 30 days, today included
            today = timezone.localtime(timezone.now(), viewer_zone(user)).date()
            form = ReportForm({"start": today - timedelta(days=reports.DEFAULT_DAYS - 1), "end": today}, user=user)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reports"),
            "opts": self.model._meta,
            "form": form,
            "zone": viewer_zone(user),
        }
        if form.is_valid():
            context.update(self._figures(form))
        return TemplateResponse(request, "admin/incidents/reports.html", context)

    def _figures(self, form):
        data = form.cleaned_data
        user, period = form.user, form.period
        team, service, schedule = data.get("team"), data.get("service"), data.get("schedule")
        services = reports.scoped_services(user, service=service.pk if service else None, team=team)
        figures = reports.incident_report(services=services, period=period)
        schedules = reports_load.scoped_schedules(user, schedule=schedule.pk if schedule else None, team=team)
        load = reports_load.oncall_load(
            schedules=schedules, services=reports.scoped_services(user, team=team), period=period
        )
        query = {"start": period.start.isoformat(), "end": period.end.isoformat()}
        if team:
            query["team"] = team.pk
        incident_query = {**query, **({"service": service.pk} if service else {}), "format": "csv"}
        load_query = {**query, **({"schedule": schedule.pk} if schedule else {}), "format": "csv"}
        return {
            "period_start": format_instant(period.start),
            "period_end": format_instant(period.end),
            "figures": figures,
            "by_severity": _labelled(figures["by_severity"], Severity),
            "by_urgency": _labelled(figures["by_urgency"], Urgency),
            "acks_by_channel": _labelled(figures["acks_by_channel"], AckChannel),
            "times": [
                (_("Time to acknowledge"), *map(_duration, figures["time_to_acknowledge"].values())),
                (_("Time to resolve"), *map(_duration, figures["time_to_resolve"].values())),
            ],
            "load": load,
            "load_rows": [{**row, "oncall": _duration(row["oncall_seconds"])} for row in load["rows"]],
            "charts": _charts(figures, load),
            "incidents_csv": reverse("report-incidents") + "?" + urlencode(incident_query),
            "load_csv": reverse("report-oncall-load") + "?" + urlencode(load_query),
        }


def register_page(site=admin.site):
    site.add_page(
        app_label="incidents",
        name=_("Reports"),
        url_name="incidents_incident_reports",
        allowed=reports.may_read_reports,
    )
