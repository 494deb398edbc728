"""Admin for escalation policies: steps inline in order, with target autocompletes."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from people.teams import TeamScopedAdmin, TeamScopedInline
from rotations.policies import EscalationPolicy, EscalationStep


class EscalationStepInline(TeamScopedInline, admin.TabularInline):
    model = EscalationStep
    extra = 1
    fields = ["position", "escalate_after_minutes", "users", "schedules"]
    autocomplete_fields = ["users", "schedules"]
    ordering = ["position", "id"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(TeamScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "team", "repeat", "step_count", "chain"]
    list_filter = ["team"]
    list_select_related = ["team"]
    search_fields = ["name", "description"]
    inlines = [EscalationStepInline]
    readonly_fields = ["chain"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_steps=Count("steps"))
            .prefetch_related("steps__users", "steps__schedules")
        )

    @admin.display(description=_("steps"), ordering="_steps")
    def step_count(self, obj):
        return getattr(obj, "_steps", None)

    @admin.display(description=_("the chain in words"))
    def chain(self, obj):
        return obj.in_words() if obj.pk else "—"
