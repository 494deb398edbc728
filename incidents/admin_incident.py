"""The incident list and the incident page: a responder's console.

The list shows open incidents first (most severe, newest), refreshes itself and fits a phone; the page leads with
what a responder acts on (status, buttons, the alert's details) before the timeline and the note box.
Registered in incidents.admin (and extended by comms.incident_panel).
"""

import functools

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from incidents import alert_details, checklist, lifecycle
from incidents.admin_checklist import ChecklistAdmin
from incidents.admin_maintenance import warn_if_silenced
from incidents.admin_merge import MergeAdmin, MergeForm
from incidents.admin_reports import ReportsAdmin
from incidents.admin_responders import RespondersAdmin
from incidents.models import AckChannel, Escalation, Incident, IncidentRole, Service, Severity, Status, Urgency
from people.models import display_name
from people.teams import visible
from project.admin import sees_secrets
from project.templatetags.piquet_time import format_age, format_instant

SEVERITY_COLOURS = {"SEV1": "#b91c1c", "SEV2": "#ea580c", "SEV3": "#ca8a04", "SEV4": "#2563eb"}
STATUS_COLOURS = {"triggered": "#b91c1c", "acknowledged": "#ca8a04", "resolved": "#15803d"}
REFRESH_SECONDS = 15
OPEN, ALL = "open", "all"
NEWEST_FIRST, OLDEST_FIRST = "newest", "oldest"


def badge(text, colour):
    return format_html('<span class="piquet-badge" style="background:{}">{}</span>', colour, text)


def instant(value):
    """An instant for an admin column or read-only field: the viewer's zone, named, with its age as a tooltip."""
    if value is None:
        return "—"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), format_age(value), format_instant(value)
    )


def person(user):
    return display_name(user) if user is not None else "—"


class StatusFilter(admin.SimpleListFilter):
    """Open incidents (triggered or acknowledged) unless another status, or all, is chosen."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(OPEN, _("Open")), *Status.choices, (ALL, _("All"))]

    def value(self):
        return super().value() or self.default

    @property
    def default(self):
        return self._default

    def __init__(self, request, params, model, model_admin):
        # A search looks through every incident (an old one is found by its number); an action on rows
        # picked one by one applies to those rows, whatever the list showed.
        searching = bool(request.GET.get(SEARCH_VAR))
        picked = request.method == "POST" and request.POST.get("select_across") != "1"
        picked = picked and bool(request.POST.getlist(ACTION_CHECKBOX_NAME))
        self._default = ALL if searching or picked else OPEN
        super().__init__(request, params, model, model_admin)

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == OPEN:
            return queryset.open()
        if value in Status.values:
            return queryset.filter(status=value)
        return queryset


class MineFilter(admin.SimpleListFilter):
    title = _("involving")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("1", _("Me (paged or holding a role)"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.involving(request.user)
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = _("opened")
    parameter_name = "opened"

    def lookups(self, request, model_admin):
        return [("1h", _("in the last hour")), ("24h", _("in the last 24 hours")), ("7d", _("in the last 7 days"))]

    def queryset(self, request, queryset):
        spans = {"1h": 1, "24h": 24, "7d": 24 * 7}
        hours = spans.get(self.value())
        if hours:
            return queryset.filter(created_at__gte=timezone.now() - timezone.timedelta(hours=hours))
        return queryset


class NoteForm(forms.Form):
    message = forms.CharField(
        label=_("Add a note"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        max_length=lifecycle.MAX_NOTE_LENGTH,
    )


class UrgencyForm(forms.Form):
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=lifecycle.MAX_REASON,
        widget=forms.TextInput(attrs={"size": 40}),
        error_messages={"required": _("Say why the urgency changes.")},
    )


class SeverityForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=lifecycle.MAX_REASON,
        widget=forms.TextInput(attrs={"size": 40}),
        error_messages={"required": _("Say why the severity changes.")},
    )


def with_commanders(queryset):
    """Incidents with `commanders`: their commander role (and its holder), in one more query for any number."""
    commanders = IncidentRole.objects.filter(role=IncidentRole.Role.COMMANDER).select_related("user")
    return queryset.prefetch_related(Prefetch("roles", queryset=commanders, to_attr="commanders"))


def holder(incident):
    """Who holds the incident: its commander, else whoever acknowledged it; None when nobody does."""
    commanders = getattr(incident, "commanders", None)
    if commanders is None:
        commanders = list(incident.roles.filter(role=IncidentRole.Role.COMMANDER).select_related("user"))
    if commanders:
        return commanders[0].user
    return incident.acknowledged_by


class IncidentAdmin(ChecklistAdmin, ReportsAdmin, MergeAdmin, RespondersAdmin, admin.ModelAdmin):
    list_display = [
        "number_display",
        "severity_badge",
        "status_badge",
        "title",
        "service",
        "age",
        "holder_display",
        "opened",
    ]
    list_display_links = ["number_display", "title"]
    list_filter = [StatusFilter, MineFilter, "service", "severity", "urgency", AgeFilter]
    list_select_related = ["service", "acknowledged_by"]
    search_fields = ["=number", "title", "dedup_key"]
    # Most severe first (SEV1 sorts before SEV4), then the newest.
    ordering = ["severity", "-created_at", "-number"]
    show_full_result_count = False
    actions = ["acknowledge_selected", "resolve_selected", "merge_selected"]
    change_form_template = "admin/incidents/incident/change_form.html"
    change_list_template = "admin/incidents/incident/change_list.html"
    fields = ["service", "title", "description", "severity"]
    lifecycle_fields = [
        "number",
        "status",
        "dedup_key",
        "alert_count",
        "opened",
        "last_alert",
        "acknowledged",
        "acknowledged_by_name",
        "resolved",
        "resolved_by_name",
    ]

    def get_queryset(self, request):
        return with_commanders(super().get_queryset(request).visible_to(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "service":
            kwargs["queryset"] = visible(Service.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # The incident log is the record of what happened: only a superuser removes an incident.
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        # The incident's alerts, timeline and pages have read-only admins; they go with the incident.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, (set() if request.user.is_superuser else perms_needed), protected

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.fields
        return self.lifecycle_fields + ["service", "title", "description", "severity"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Severity, like status, changes only through the lifecycle functions.
        return self.lifecycle_fields + ["service", "severity"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["title", "description"])
            return
        declared = lifecycle.declare(
            service=form.cleaned_data["service"],
            title=form.cleaned_data["title"],
            description=form.cleaned_data.get("description", ""),
            severity=form.cleaned_data["severity"],
            by=request.user,
        )
        obj.pk = declared.pk
        obj.number = declared.number

    # --- columns and read-only fields ------------------------------------------

    @admin.display(description=_("number"), ordering="number")
    def number_display(self, obj):
        return f"#{obj.number}"

    @admin.display(description=_("severity"), ordering="severity")
    def severity_badge(self, obj):
        return badge(obj.severity, SEVERITY_COLOURS.get(obj.severity, "#555"))

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), STATUS_COLOURS.get(obj.status, "#555"))

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, obj):
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            obj.created_at.isoformat(),
            format_instant(obj.created_at),
            format_age(obj.created_at),
        )

    @admin.display(description=_("held by"))
    def holder_display(self, obj):
        return person(holder(obj))

    @admin.display(description=_("opened at"), ordering="created_at")
    def opened(self, obj):
        return instant(obj.created_at)

    @admin.display(description=_("last alert at"))
    def last_alert(self, obj):
        return instant(obj.last_alert_at)

    @admin.display(description=_("acknowledged at"))
    def acknowledged(self, obj):
        return instant(obj.acknowledged_at)

    @admin.display(description=_("acknowledged by"))
    def acknowledged_by_name(self, obj):
        return person(obj.acknowledged_by)

    @admin.display(description=_("resolved at"))
    def resolved(self, obj):
        return instant(obj.resolved_at)

    @admin.display(description=_("resolved by"))
    def resolved_by_name(self, obj):
        return person(obj.resolved_by)

    # --- bulk actions ------------------------------------------------------------

    def _apply(self, request, queryset, change, done_message):
        done, refused = 0, []
        for incident in queryset:
            try:
                change(incident, by=request.user)
                done += 1
            except lifecycle.TransitionError as exc:
                refused.append(str(exc))
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description=_("Acknowledge the selected incidents"), permissions=["change"])
    def acknowledge_selected(self, request, queryset):
        self._apply(
            request,
            queryset.exclude(status=Status.ACKNOWLEDGED),
            functools.partial(lifecycle.acknowledge, channel=AckChannel.ADMIN),
            _("%(count)d incident(s) acknowledged."),
        )

    @admin.action(description=_("Resolve the selected incidents"), permissions=["change"])
    def resolve_selected(self, request, queryset):
        pending = [incident for incident in queryset if checklist.open_required(incident).exists()]
        for incident in pending:
            self.message_user(
                request,
                _("Incident #%(number)s has required tasks open: resolve it from its page.")
                % {"number": incident.number},
                messages.WARNING,
            )
        queryset = queryset.exclude(pk__in=[incident.pk for incident in pending])
        self._apply(request, queryset, lifecycle.resolve, _("%(count)d incident(s) resolved."))

    def changelist_view(self, request, extra_context=None):
        chosen = request.GET.get(StatusFilter.parameter_name) or (ALL if request.GET.get(SEARCH_VAR) else OPEN)
        showing_open = chosen == OPEN
        extra_context = {
            "title": _("Open incidents") if showing_open else _("Incidents"),
            "refresh_seconds": REFRESH_SECONDS,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    # --- the incident page: buttons, timeline, note form, alerts -------------

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/acknowledge/",
                self.admin_site.admin_view(self.acknowledge_view),
                name="incidents_incident_acknowledge",
            ),
            path("<int:pk>/resolve/", self.admin_site.admin_view(self.resolve_view), name="incidents_incident_resolve"),
            path("<int:pk>/note/", self.admin_site.admin_view(self.note_view), name="incidents_incident_note"),
            path(
                "<int:pk>/escalate/",
                self.admin_site.admin_view(self.escalate_view),
                name="incidents_incident_escalate",
            ),
            path(
                "<int:pk>/severity/",
                self.admin_site.admin_view(self.severity_view),
                name="incidents_incident_severity",
            ),
            path(
                "<int:pk>/urgency/",
                self.admin_site.admin_view(self.urgency_view),
                name="incidents_incident_urgency",
            ),
            path(
                "<int:pk>/timeline/",
                self.admin_site.admin_view(self.timeline_view),
                name="incidents_incident_timeline",
            ),
        ]
        return (
            urls
            + self.report_urls()
            + self.merge_urls()
            + self.responder_urls()
            + self.checklist_urls()
            + self.panel_urls()
            + super().get_urls()
        )

    # Apps above incidents extend the incident page (see comms.incident_panel): more
    # URLs, more context, and the templates of their panels, shown above the timeline.
    panel_templates = ()

    def panel_urls(self):
        return []

    def panel_context(self, incident, request):
        return {}

    def _incident_for_post(self, request, pk, permission):
        """The incident a button posts to, or a refusal (wrong method); PermissionDenied without `permission`."""
        if request.method != "POST":
            return None, HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return get_object_or_404(Incident.objects.visible_to(request.user), pk=pk), None

    def _back(self, incident, request=None):
        """Back to the incident page, its timeline in the order the responder chose."""
        url = reverse("admin:incidents_incident_change", args=[incident.pk])
        if request is not None and request.GET.get("timeline") == NEWEST_FIRST:
            url += "?timeline=newest#timeline"
        return HttpResponseRedirect(url)

    def _transition_view(self, request, pk, change, done_message):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        try:
            change(incident, by=request.user)
        except lifecycle.TransitionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, done_message % {"number": incident.number}, messages.SUCCESS)
            self.log_change(request, incident, str(done_message % {"number": incident.number}))
        return self._back(incident, request)

    def acknowledge_view(self, request, pk):
        acknowledge = functools.partial(lifecycle.acknowledge, channel=AckChannel.ADMIN)
        return self._transition_view(request, pk, acknowledge, _("Incident #%(number)s acknowledged."))

    def resolve_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal is None and (asked := self.confirm_open_tasks(request, incident)) is not None:
            return asked  # required tasks are open: the person confirms first (they stay open)
        return self._transition_view(request, pk, lifecycle.resolve, _("Incident #%(number)s resolved."))

    def escalate_view(self, request, pk):
        return self._transition_view(request, pk, lifecycle.escalate, _("Incident #%(number)s escalated."))

    def severity_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        form = SeverityForm(request.POST, prefix="change")
        if not form.is_valid():
            if "severity" in form.errors:
                self.message_user(request, _("Choose a severity."), messages.ERROR)
            for error in form.errors.get("reason", []):
                self.message_user(request, error, messages.ERROR)
            return self._back(incident, request)
        changed = lifecycle.change_severity(
            incident,
            severity=form.cleaned_data["severity"],
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
        done = _("Incident #%(number)s is now %(severity)s.") % {"number": changed.number, "severity": changed.severity}
        self.message_user(request, done, messages.SUCCESS)
        self.log_change(request, incident, str(done))
        return self._back(incident, request)

    def urgency_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        form = UrgencyForm(request.POST, prefix="urgency")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
            return self._back(incident, request)
        try:
            changed = lifecycle.change_urgency(
                incident, urgency=form.cleaned_data["urgency"], reason=form.cleaned_data["reason"], by=request.user
            )
        except (ValueError, lifecycle.TransitionError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return self._back(incident, request)
        done = _("Incident #%(number)s is now %(urgency)s urgency.") % {
            "number": changed.number,
            "urgency": changed.get_urgency_display().lower(),
        }
        self.message_user(request, done, messages.SUCCESS)
        return self._back(incident, request)

    def note_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.add_timelineentry")
        if refusal:
            return refusal
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                lifecycle.add_note(incident, by=request.user, message=form.cleaned_data["message"])
            except ValueError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, _("Note added."), messages.SUCCESS)
        else:
            for error in form.errors.get("message", []):
                self.message_user(request, error, messages.ERROR)
        return self._back(incident, request)

    def _timeline_context(self, request, incident):
        order = NEWEST_FIRST if request.GET.get("timeline") == NEWEST_FIRST else OLDEST_FIRST
        entries = incident.timeline.select_related("actor")
        entries = entries.order_by("-at", "-id") if order == NEWEST_FIRST else entries.order_by("at", "id")
        url = reverse("admin:incidents_incident_timeline", args=[incident.pk])
        return {
            "timeline": entries,
            "timeline_order": order,
            "timeline_url": f"{url}?timeline={order}",
            "refresh_seconds": REFRESH_SECONDS,
        }

    def timeline_view(self, request, pk):
        """The timeline alone, for the incident page to refresh itself; readable by whoever may see the page."""
        incident = get_object_or_404(Incident.objects.visible_to(request.user), pk=pk)
        if not self.has_view_or_change_permission(request, incident):
            raise PermissionDenied
        return TemplateResponse(
            request, "admin/incidents/incident/timeline.html", self._timeline_context(request, incident)
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        incident = self.get_object(request, object_id)
        if incident is not None and incident.is_open and request.method == "GET":
            warn_if_silenced(self, request, incident.service)
        if incident is not None:
            alerts = list(incident.alerts.select_related("integration").order_by("-received_at", "-id")[:50])
            for alert in alerts:
                alert.pretty_payload = alert_details.pretty(alert.payload)
            latest = alerts[0] if alerts else None
            extra_context.update(
                title=_("Incident #%(number)s") % {"number": incident.number},
                subtitle=incident.title,
                holder=holder(incident),
                severity_badge=self.severity_badge(incident),
                status_badge=self.status_badge(incident),
                roles=incident.roles.select_related("user").order_by("role"),
                latest_alert=latest,
                latest_alert_sections=alert_details.sections(latest.payload) if latest else [],
                latest_alert_source=alert_details.value_html(latest.source) if latest else "",
                escalation=Escalation.objects.filter(incident=incident).first(),
                notifications=incident.notifications.select_related("user", "contact_method").order_by(
                    "created_at", "id"
                ),
                has_policy=bool(incident.service.escalation_policy_id),
                alerts=alerts,
                note_form=NoteForm(),
                can_work=request.user.has_perm("incidents.change_incident"),
                can_note=request.user.has_perm("incidents.add_timelineentry"),
                is_open=incident.is_open,
                is_triggered=incident.status == Status.TRIGGERED,
                severity_form=SeverityForm(prefix="change", initial={"severity": incident.severity}),
                urgency_form=UrgencyForm(
                    prefix="urgency",
                    initial={"urgency": Urgency.LOW if incident.urgency == Urgency.HIGH else Urgency.HIGH},
                ),
                merge_form=MergeForm(prefix="merge"),
                sees_secrets=sees_secrets(request.user),
                panel_templates=self.panel_templates,
                show_save_and_add_another=False,
                show_save_and_continue=False,
                **self._timeline_context(request, incident),
                **self.responder_context(incident, request),
                **self.checklist_context(incident, request),
                **self.panel_context(incident, request),
            )
        return super().change_view(request, object_id, form_url, extra_context)
