import sys

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents import (
    admin_maintenance,  # noqa: F401  (maintenance windows)
    admin_people,  # noqa: F401  (extends the people admin with test notifications)
    heartbeat,
)
from incidents.admin_incident import IncidentAdmin, instant, person
from incidents.admin_maintenance import warn_if_silenced
from incidents.admin_reports import register_page
from incidents.admin_routing import IntegrationConsole, RoutingRuleInline
from incidents.models import (
    Alert,
    Incident,
    IncidentRole,
    Integration,
    Notice,
    Notification,
    PublicStatus,
    Service,
    Severity,
    SeverityDefinition,
    Status,
    TimelineEntry,
)
from incidents.public_status import set_public_status
from people.teams import TeamScopedAdmin, TeamScopedInline
from project.admin import ReadOnlyAdmin, SecretsByNeed
from rotations.restrictions import ScheduleError, restrictions_from_lines, restrictions_to_lines


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


class ServiceForm(forms.ModelForm):
    """Urgency as checkboxes and support hours as lines a person writes (`mon-fri 09:00-18:00`), not JSON."""

    high_urgency_severities = forms.MultipleChoiceField(
        label=_("high-urgency severities"),
        choices=Severity.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=Service._meta.get_field("high_urgency_severities").help_text,
    )
    support_hours = forms.CharField(
        label=_("support hours"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40, "placeholder": "mon-fri 09:00-18:00"}),
        help_text=_(
            "One range per line, in the service's time zone: e.g. mon-fri 09:00-18:00, sat,sun 10:00-14:00, "
            "daily 22:00-06:00 (past midnight). Low-urgency incidents page only then. Empty: at any hour."
        ),
    )

    class Meta:
        model = Service
        fields = ["high_urgency_severities", "support_hours", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "support_hours" in self.fields:
            self.initial["support_hours"] = restrictions_to_lines(self.instance.support_hours)

    def clean_support_hours(self):
        try:
            return restrictions_from_lines(self.cleaned_data.get("support_hours"))
        except ScheduleError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Service)
class ServiceAdmin(TeamScopedAdmin, admin.ModelAdmin):
    form = ServiceForm
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
        (_("Urgency and support hours"), {"fields": ["high_urgency_severities", "support_hours", "time_zone"]}),
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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        service = self.get_object(request, object_id)
        if service is not None and request.method == "GET":
            warn_if_silenced(self, request, service)
        return super().change_view(request, object_id, form_url, extra_context)

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
class IntegrationAdmin(IntegrationConsole, TeamScopedAdmin, SecretsByNeed, admin.ModelAdmin):
    team_path = "service__team"
    secret_fields = ("key", "url", "ping_example")
    list_display = ["name", "service", "kind", "enabled", "created_at"]
    list_filter = ["kind", "enabled", "service"]
    list_select_related = ["service"]
    search_fields = ["name", "service__name", "service__slug"]
    autocomplete_fields = ["service"]
    readonly_fields = ["key", "url", "created_at", "last_ping", "heartbeat_state", "ping_example", "console_link"]
    inlines = [RoutingRuleInline]
    fieldsets = [
        (None, {"fields": ["service", "kind", "name", "enabled", "max_events_per_minute", "key", "url", "created_at"]}),
        (
            _("Heartbeat"),
            {"fields": ["period_seconds", "grace_seconds", "last_ping", "heartbeat_state", "ping_example"]},
        ),
        (
            _("Generic webhook: what to read from the body (JMESPath)"),
            {
                "fields": ["title_expr", "severity_expr", "dedup_expr", "resolve_expr", "default_severity"],
                "description": _(
                    "Only for integrations of kind webhook. Try them on a sample body with Test this payload."
                ),
            },
        ),
        (_("Routing"), {"fields": ["console_link"]}),
    ]
    actions = ["regenerate_keys"]

    @admin.display(description=_("last ping"))
    def last_ping(self, obj):
        return instant(obj.last_ping_at) if obj.kind == Integration.Kind.HEARTBEAT else "—"

    @admin.display(description=_("heartbeat"))
    def heartbeat_state(self, obj):
        state = heartbeat.state(obj)
        if state is None:
            return _("(heartbeat integrations only)")
        if state["ok"]:
            return format_html(_("OK, next ping expected before {time}"), time=instant(state["before"]))
        return format_html(_("Missing since {time}"), time=instant(state["since"]))

    @admin.display(description=_("command to paste"))
    def ping_example(self, obj):
        if obj.kind == Integration.Kind.EMAIL and obj.pk:
            command = f'"|{sys.executable} {settings.BASE_DIR / "manage.py"} ingest_email {obj.key}"'
            help_text = _("A line for the mail server's aliases (see the documentation for a Postfix transport).")
        elif obj.kind == Integration.Kind.HEARTBEAT and obj.pk:
            command = f"curl -fsS -m 10 --retry 3 {obj.url}"
            help_text = _("Run it at the end of the job (cron: '… && curl …'), at least once a period; GET or POST.")
        else:
            return _("(heartbeat and e-mail integrations, once saved)")
        return format_html(
            '<input type="text" readonly value="{}" size="80" onclick="this.select()"><div class="help">{}</div>',
            command,
            help_text,
        )

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


admin.site.register(Incident, IncidentAdmin)
register_page()


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["received", "action", "summary", "severity", "integration", "incident"]
    list_filter = ["action", "severity", "integration__service"]
    list_select_related = ["integration", "integration__service", "incident"]
    search_fields = ["dedup_key", "summary", "fingerprint"]
    raw_id_fields = ["incident", "integration"]
    show_full_result_count = False
    ordering = ["-received_at"]

    @admin.display(description=_("received at"), ordering="received_at")
    def received(self, obj):
        return instant(obj.received_at)


@admin.register(Notification)
class NotificationAdmin(SecretsByNeed, ReadOnlyAdmin):
    # Provider answers and errors may hold full URLs with their tokens.
    secret_fields = ("contact_method", "error", "response")
    list_display = ["created", "incident", "purpose", "person", "contact_method", "status", "attempts", "sent"]
    list_filter = ["status", "purpose", "contact_method__kind"]
    list_select_related = ["incident", "user", "contact_method"]
    search_fields = ["=incident__number", "user__username", "error"]
    raw_id_fields = ["incident", "page", "user", "contact_method"]
    show_full_result_count = False
    ordering = ["-created_at"]

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, obj):
        return instant(obj.created_at)

    @admin.display(description=_("person"), ordering="user__last_name")
    def person(self, obj):
        return person(obj.user)

    @admin.display(description=_("sent at"), ordering="sent_at")
    def sent(self, obj):
        return instant(obj.sent_at)


@admin.register(Notice)
class NoticeAdmin(SecretsByNeed, ReadOnlyAdmin):
    secret_fields = ("contact_method", "error", "response")
    list_display = ["created", "kind", "person", "subject", "contact_method", "status", "attempts", "sent"]
    list_filter = ["status", "kind", "contact_method__kind"]
    list_select_related = ["user", "contact_method"]
    search_fields = ["user__username", "subject", "key", "error"]
    raw_id_fields = ["incident", "user", "contact_method"]
    show_full_result_count = False
    ordering = ["-created_at"]

    created = NotificationAdmin.created
    person = NotificationAdmin.person
    sent = NotificationAdmin.sent


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ["at_display", "incident", "kind", "actor_display", "text"]
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

    @admin.display(description=_("at"), ordering="at")
    def at_display(self, obj):
        return instant(obj.at)


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
            "requires_review",
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
        "requires_review",
    ]
    list_filter = ["inform_stakeholders", "requires_review"]
    search_fields = ["severity", "description"]

    @admin.display(description=_("description"), ordering="description")
    def description_display(self, obj):
        return obj.description_text

    @admin.display(description=_("required roles"))
    def roles_display(self, obj):
        return ", ".join(str(IncidentRole.Role(r).label) for r in obj.required_roles) or "—"


@admin.register(IncidentRole)
class IncidentRoleAdmin(ReadOnlyAdmin):
    list_display = ["incident", "role", "holder", "assigned", "assigner"]
    list_filter = ["role"]
    list_select_related = ["incident", "user", "assigned_by"]
    search_fields = ["=incident__number", "user__username", "user__first_name", "user__last_name"]
    raw_id_fields = ["incident", "user", "assigned_by"]

    @admin.display(description=_("person"), ordering="user__last_name")
    def holder(self, obj):
        return person(obj.user)

    @admin.display(description=_("assigned at"), ordering="assigned_at")
    def assigned(self, obj):
        return instant(obj.assigned_at)

    @admin.display(description=_("assigned by"))
    def assigner(self, obj):
        return person(obj.assigned_by)
