"""Maintenance windows in the admin: planned ahead, recurring, or "from now for two hours"."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents import escalation, maintenance
from incidents.models import MaintenanceWindow, maintenance_at
from people.teams import TeamScopedAdmin
from project import recurrence
from project.templatetags.piquet_time import format_instant

DURATIONS = [("", _("— give the times below —"))] + [
    (str(minutes), label)
    for minutes, label in (
        (30, _("30 minutes")),
        (60, _("1 hour")),
        (120, _("2 hours")),
        (240, _("4 hours")),
        (480, _("8 hours")),
        (1440, _("24 hours")),
    )
]


class MaintenanceWindowForm(forms.ModelForm):
    from_now_for = forms.ChoiceField(
        label=_("from now for"),
        choices=DURATIONS,
        required=False,
        help_text=_("Starts the maintenance now: the one-off start and end are set for you."),
    )

    class Meta:
        model = MaintenanceWindow
        fields = ["name", "team", "services", "reason", "public", "enabled", "time_zone"]

    def clean(self):
        minutes = self.cleaned_data.get("from_now_for")
        if minutes:
            now = timezone.now()
            self.cleaned_data.update(
                start_cron="", end_cron="", starts_at=now, ends_at=now + timedelta(minutes=int(minutes))
            )
        return super().clean()


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(TeamScopedAdmin, admin.ModelAdmin):
    form = MaintenanceWindowForm
    list_display = ["name", "scope", "rule_in_words", "active_now", "public", "enabled", "team"]
    list_filter = ["enabled", "public", "team", "services"]
    list_select_related = ["team"]
    search_fields = ["name", "reason", "services__name", "services__slug"]
    filter_horizontal = ["services"]
    readonly_fields = ["rule_in_words", "created_by", "created_at", "updated_at"]
    actions = ["end_now"]
    fieldsets = [
        (None, {"fields": ["name", "team", "services", "reason", "public", "enabled"]}),
        (
            _("When"),
            {
                "fields": ["from_now_for", ("starts_at", "ends_at"), "time_zone", ("start_cron", "end_cron")],
                "description": _(
                    "Give one form: from now for a while, one-off (start and end), or recurring (start and end "
                    "cron, read on the zone's wall clock, e.g. 0 2 * * 0 and 0 4 * * 0 for Sunday 02:00–04:00)."
                ),
            },
        ),
        (_("Record"), {"fields": ["rule_in_words", "created_by", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services")

    @admin.display(description=_("services"))
    def scope(self, obj):
        return ", ".join(s.name for s in obj.services.all()) or _("every service")

    @admin.display(description=_("when"))
    def rule_in_words(self, obj):
        return recurrence.describe_rule(obj) if obj.form else "—"

    @admin.display(description=_("active now"), boolean=True)
    def active_now(self, obj):
        return obj.enabled and recurrence.is_active(obj, timezone.now())

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        maintenance.saved(form.instance)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        escalation.wake_waiting()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        escalation.wake_waiting()

    @admin.action(description=_("End the selected maintenance now"), permissions=["change"])
    def end_now(self, request, queryset):
        for window in queryset:
            maintenance.end_now(window)
        count = len(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d maintenance window ended: waiting incidents page now.",
                "%(count)d maintenance windows ended: waiting incidents page now.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


def warn_if_silenced(admin_view, request, service):
    """A banner on a service's or an incident's page while maintenance silences the service."""
    window, occurrence = maintenance_at(service, timezone.now())
    if window is not None:
        admin_view.message_user(
            request,
            _("Maintenance “%(name)s”: nobody is paged for %(service)s until %(end)s.")
            % {"name": window.name, "service": service.name, "end": format_instant(occurrence.end)},
            messages.WARNING,
        )
