"""Plays in the admin: what they apply to, their ordered tasks, roles, responders, stakeholder groups, bridge.

The play lives in incidents; it is edited here, in comms, because its stakeholder groups live here.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from comms.models import StakeholderGroup
from incidents.models import IncidentRole, IncidentType, Play, PlayTask, Severity
from people.teams import TeamScopedAdmin, TeamScopedInline, visible


class PlayForm(forms.ModelForm):
    severities = forms.MultipleChoiceField(
        label=_("severities"),
        choices=Severity.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Incidents of these severities; none means every severity."),
    )
    incident_types = forms.MultipleChoiceField(
        label=_("incident types"),
        choices=IncidentType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Incidents of these types; none means any type (and incidents whose type is not set yet)."),
    )
    roles = forms.MultipleChoiceField(
        label=_("roles to fill"),
        choices=IncidentRole.Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Roles the incident must have filled once the play ran (commander, communications, scribe)."),
    )
    stakeholder_groups = forms.ModelMultipleChoiceField(
        label=_("stakeholder groups to inform"),
        queryset=StakeholderGroup.objects.none(),
        required=False,
        widget=FilteredSelectMultiple(_("stakeholder groups"), is_stacked=False),
        help_text=_("Told of the incident when the play runs, whatever their severities."),
    )

    class Meta:
        model = Play
        fields = [
            "name",
            "team",
            "description",
            "enabled",
            "services",
            "severities",
            "incident_types",
            "roles",
            "responder_users",
            "responder_schedules",
            "responder_policies",
            "stakeholder_groups",
            "bridge_url",
            "bridge_phone",
        ]

    def __init__(self, *args, groups=None, **kwargs):
        super().__init__(*args, **kwargs)
        if groups is not None:
            self.fields["stakeholder_groups"].queryset = groups
        if self.instance.pk:
            self.fields["stakeholder_groups"].initial = list(self.instance.stakeholder_groups.all())


class PlayTaskInline(TeamScopedInline, admin.TabularInline):
    model = PlayTask
    extra = 1
    fields = ["position", "title", "description", "role", "due_minutes", "required"]
    ordering = ["position", "id"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "description":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 40})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Play)
class PlayAdmin(TeamScopedAdmin, admin.ModelAdmin):
    form = PlayForm
    inlines = [PlayTaskInline]
    list_display = ["name", "scope", "severities_display", "types_display", "task_count", "enabled", "team"]
    list_filter = ["enabled", "team", "services"]
    list_select_related = ["team"]
    search_fields = ["name", "description", "tasks__title"]
    filter_horizontal = ["services", "responder_users", "responder_schedules", "responder_policies"]
    fieldsets = [
        (None, {"fields": ["name", "team", "description", "enabled"]}),
        (_("Applies to"), {"fields": ["services", "severities", "incident_types"]}),
        (
            _("Roles and responders"),
            {"fields": ["roles", "responder_users", "responder_schedules", "responder_policies"]},
        ),
        (_("Who is told, where people meet"), {"fields": ["stakeholder_groups", "bridge_url", "bridge_phone"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # Read-only: the groups (a relation from comms' side) are shown as their names.
        return [
            (
                name,
                {
                    **options,
                    "fields": [f if f != "stakeholder_groups" else "groups_display" for f in options["fields"]],
                },
            )
            for name, options in fieldsets
        ]

    @admin.display(description=_("stakeholder groups to inform"))
    def groups_display(self, obj):
        return ", ".join(group.name for group in obj.stakeholder_groups.all()) or "—"

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "bridge_url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services").annotate(task_total=Count("tasks"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        groups = visible(StakeholderGroup.objects.all(), request.user)

        class ScopedPlayForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, groups=groups, **inner)

        return ScopedPlayForm

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "stakeholder_groups" in form.cleaned_data:
            form.instance.stakeholder_groups.set(form.cleaned_data["stakeholder_groups"])

    @admin.display(description=_("services"))
    def scope(self, obj):
        return ", ".join(service.name for service in obj.services.all()) or _("every service")

    @admin.display(description=_("severities"))
    def severities_display(self, obj):
        return ", ".join(obj.severities) or _("every severity")

    @admin.display(description=_("incident types"))
    def types_display(self, obj):
        return ", ".join(str(IncidentType(value).label) for value in obj.incident_types) or _("any type")

    @admin.display(description=_("tasks"), ordering="task_total")
    def task_count(self, obj):
        return obj.task_total
