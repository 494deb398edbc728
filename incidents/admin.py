import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents import (
    admin_people,  # noqa: F401  (extends the people admin with test notifications)
    lifecycle,
)
from incidents.models import (
    Alert,
    Escalation,
    Incident,
    IncidentRole,
    Integration,
    Notification,
    PublicStatus,
    Service,
    Severity,
    SeverityDefinition,
    Status,
    TimelineEntry,
)
from incidents.public_status import set_public_status
from people.teams import TeamScopedAdmin, TeamScopedInline, visible
from project.admin import ReadOnlyAdmin, SecretsByNeed, sees_secrets

SEVERITY_COLOURS = {"SEV1": "#b91c1c", "SEV2": "#ea580c", "SEV3": "#ca8a04", "SEV4": "#2563eb"}
STATUS_COLOURS = {"triggered": "#b91c1c", "acknowledged": "#ca8a04", "resolved": "#15803d"}


def badge(text, colour):
    return format_html(
        '<span style="background:{};color:#fff;padding:1px 6px;border-radius:3px;font-weight:600">{}</span>',
        colour,
        text,
    )


class IntegrationInline(TeamScopedInline, SecretsByNeed, admin.TabularInline):
    model = Integration
    secret_fields = ("key", "copy_url")
    extra = 0
    fields = ["name", "kind", "enabled", "key", "copy_url", "created_at"]
    readonly_fields = ["key", "copy_url", "created_at"]
    show_change_link = True

    @admin.display(description=_("URL to paste into the monitoring tool"))
    def copy_url(self, obj):
        if not obj.pk:
            return _("(shown once saved)")
        return format_html('<input type="text" readonly value="{}" size="60" onclick="this.select()">', obj.url)


@admin.register(Service)
class ServiceAdmin(TeamScopedAdmin, admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "team",
        "public_status",
        "escalation_policy",
        "integration_count",
        "open_incident_count",
    ]
    list_select_related = ["escalation_policy", "team"]
    list_filter = ["team", "public_status", "escalation_policy"]
    search_fields = ["name", "slug", "description", "public_name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["escalation_policy"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "team", "description", "escalation_policy", "chain"]}),
        (_("Status page"), {"fields": ["public_name", "public_description", "public_status", "auto_publish"]}),
    ]
    readonly_fields = ["chain"]
    inlines = [IntegrationInline]

    def save_model(self, request, obj, form, change):
        """The public status changes only through set_public_status, which records it in the history."""
        wanted = obj.public_status
        if change:
            obj.save(update_fields=[name for name in form.changed_data if name != "public_status"])
        else:
            obj.public_status = PublicStatus.OPERATIONAL
            obj.save()
        set_public_status(obj, wanted, by=request.user)

    @admin.display(description=_("call chain"))
    def chain(self, obj):
        if obj.pk and obj.escalation_policy_id:
            return obj.escalation_policy.in_words()
        return _("No escalation policy: incidents of this service page nobody.")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _integrations=Count("integrations", distinct=True),
                _open=Count("incidents", filter=~Q(incidents__status=Status.RESOLVED), distinct=True),
            )
        )

    @admin.display(description=_("integrations"), ordering="_integrations")
    def integration_count(self, obj):
        return obj._integrations

    @admin.display(description=_("open incidents"), ordering="_open")
    def open_incident_count(self, obj):
        return obj._open


@admin.register(Integration)
class IntegrationAdmin(TeamScopedAdmin, SecretsByNeed, admin.ModelAdmin):
    team_path = "service__team"
    secret_fields = ("key", "url")
    list_display = ["name", "service", "kind", "enabled", "created_at"]
    list_filter = ["kind", "enabled", "service"]
    list_select_related = ["service"]
    search_fields = ["name", "service__name", "service__slug"]
    autocomplete_fields = ["service"]
    readonly_fields = ["key", "url", "created_at"]
    actions = ["regenerate_keys"]

    @admin.action(description=_("Regenerate the key of the selected integrations"), permissions=["change"])
    def regenerate_keys(self, request, queryset):
        for integration in queryset:
            integration.regenerate_key()
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "%(count)d key regenerated: update the monitoring tool.",
                "%(count)d keys regenerated: update the monitoring tools.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


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


class SeverityForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=lifecycle.MAX_REASON,
        widget=forms.TextInput(attrs={"size": 40}),
        error_messages={"required": _("Say why the severity changes.")},
    )


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["number_display", "title", "service", "severity_badge", "status_badge", "age", "acknowledged_by"]
    list_display_links = ["number_display", "title"]
    list_filter = ["status", "severity", "service", ("created_at", admin.DateFieldListFilter), AgeFilter]
    list_select_related = ["service", "acknowledged_by"]
    search_fields = ["=number", "title", "dedup_key"]
    ordering = ["-created_at", "-number"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["acknowledge_selected", "resolve_selected"]
    change_form_template = "admin/incidents/incident/change_form.html"
    fields = ["service", "title", "description", "severity"]
    lifecycle_fields = [
        "number",
        "status",
        "dedup_key",
        "alert_count",
        "created_at",
        "last_alert_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
    ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.fields
        return self.lifecycle_fields + ["service", "title", "description", "severity"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "service":
            kwargs["queryset"] = visible(Service.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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
        return timesince(obj.created_at)

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
            lifecycle.acknowledge,
            _("%(count)d incident(s) acknowledged."),
        )

    @admin.action(description=_("Resolve the selected incidents"), permissions=["change"])
    def resolve_selected(self, request, queryset):
        self._apply(request, queryset, lifecycle.resolve, _("%(count)d incident(s) resolved."))

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
        ]
        return urls + self.panel_urls() + super().get_urls()

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
        return get_object_or_404(self.get_queryset(request), pk=pk), None

    def _back(self, incident):
        return HttpResponseRedirect(reverse("admin:incidents_incident_change", args=[incident.pk]))

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
        return self._back(incident)

    def acknowledge_view(self, request, pk):
        return self._transition_view(request, pk, lifecycle.acknowledge, _("Incident #%(number)s acknowledged."))

    def resolve_view(self, request, pk):
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
            return self._back(incident)
        changed = lifecycle.change_severity(
            incident,
            severity=form.cleaned_data["severity"],
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
        done = _("Incident #%(number)s is now %(severity)s.") % {"number": changed.number, "severity": changed.severity}
        self.message_user(request, done, messages.SUCCESS)
        self.log_change(request, incident, str(done))
        return self._back(incident)

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
        return self._back(incident)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        incident = self.get_object(request, object_id)
        if incident is not None:
            alerts = list(incident.alerts.select_related("integration").order_by("-received_at")[:50])
            for alert in alerts:
                alert.pretty_payload = json.dumps(alert.payload, indent=2, sort_keys=True)
            extra_context.update(
                escalation=Escalation.objects.filter(incident=incident).first(),
                notifications=incident.notifications.select_related("user", "contact_method").order_by(
                    "created_at", "id"
                ),
                has_policy=bool(incident.service.escalation_policy_id),
                timeline=incident.timeline.select_related("actor").order_by("at", "id"),
                alerts=alerts,
                note_form=NoteForm(),
                can_work=request.user.has_perm("incidents.change_incident"),
                can_note=request.user.has_perm("incidents.add_timelineentry"),
                is_open=incident.is_open,
                is_triggered=incident.status == Status.TRIGGERED,
                severity_form=SeverityForm(prefix="change", initial={"severity": incident.severity}),
                sees_secrets=sees_secrets(request.user),
                panel_templates=self.panel_templates,
                **self.panel_context(incident, request),
            )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "action", "summary", "severity", "integration", "incident"]
    list_filter = ["action", "severity", "integration__service"]
    list_select_related = ["integration", "integration__service", "incident"]
    search_fields = ["dedup_key", "summary", "fingerprint"]
    raw_id_fields = ["incident", "integration"]
    show_full_result_count = False
    ordering = ["-received_at"]


@admin.register(Notification)
class NotificationAdmin(SecretsByNeed, ReadOnlyAdmin):
    # Provider answers and errors may hold full URLs with their tokens.
    secret_fields = ("contact_method", "error", "response")
    list_display = ["created_at", "incident", "purpose", "user", "contact_method", "status", "attempts", "sent_at"]
    list_filter = ["status", "purpose", "contact_method__kind"]
    list_select_related = ["incident", "user", "contact_method"]
    search_fields = ["=incident__number", "user__username", "error"]
    raw_id_fields = ["incident", "page", "user", "contact_method"]
    show_full_result_count = False
    ordering = ["-created_at"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "incident", "kind", "actor_display", "text"]
    list_filter = ["kind"]
    list_select_related = ["incident", "actor"]
    search_fields = ["message", "params", "=incident__number"]
    raw_id_fields = ["incident", "actor"]
    show_full_result_count = False
    # The stored message is an English msgid with placeholders: readers see it rendered in their language.
    fields = ["incident", "at", "kind", "actor", "actor_name", "text", "data"]
    readonly_fields = ["text"]

    @admin.display(description=_("message"))
    def text(self, obj):
        return obj.text


class SeverityDefinitionForm(forms.ModelForm):
    required_roles = forms.MultipleChoiceField(
        label=_("required roles"),
        choices=IncidentRole.Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Roles an incident of this severity must have filled."),
    )

    class Meta:
        model = SeverityDefinition
        fields = [
            "severity",
            "description",
            "public_impact",
            "inform_stakeholders",
            "update_cadence_minutes",
            "required_roles",
        ]


@admin.register(SeverityDefinition)
class SeverityDefinitionAdmin(admin.ModelAdmin):
    form = SeverityDefinitionForm
    list_display = [
        "severity",
        "description_display",
        "inform_stakeholders",
        "update_cadence_minutes",
        "roles_display",
    ]
    list_filter = ["inform_stakeholders"]
    search_fields = ["severity", "description"]

    @admin.display(description=_("description"), ordering="description")
    def description_display(self, obj):
        return obj.description_text

    @admin.display(description=_("required roles"))
    def roles_display(self, obj):
        return ", ".join(str(IncidentRole.Role(r).label) for r in obj.required_roles) or "—"


@admin.register(IncidentRole)
class IncidentRoleAdmin(ReadOnlyAdmin):
    list_display = ["incident", "role", "user", "assigned_at", "assigned_by"]
    list_filter = ["role"]
    list_select_related = ["incident", "user", "assigned_by"]
    search_fields = ["=incident__number", "user__username", "user__first_name", "user__last_name"]
    raw_id_fields = ["incident", "user", "assigned_by"]
