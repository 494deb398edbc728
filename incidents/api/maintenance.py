"""`/api/v1/maintenance-windows/`: silence paging ahead, on a schedule, or from now for a while."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from incidents import escalation, maintenance
from incidents.api.serializers import ServiceSlugField
from incidents.models import MaintenanceWindow
from people.api.teams import TeamOwnedSerializer, TeamScopedViewSet
from project import recurrence
from project.serializers import InstantField


class MaintenanceWindowSerializer(TeamOwnedSerializer):
    services = ServiceSlugField(many=True, required=False, help_text="Service slugs; empty: every service.")
    starts_at = InstantField(required=False, allow_null=True)
    ends_at = InstantField(required=False, allow_null=True)
    duration_minutes = serializers.IntegerField(
        write_only=True,
        required=False,
        min_value=1,
        max_value=int(maintenance.MAX_DURATION.total_seconds() // 60),
        help_text="From now for this many minutes (instead of starts_at/ends_at or crons).",
    )
    active = serializers.SerializerMethodField()

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "name",
            "team",
            "services",
            "reason",
            "public",
            "enabled",
            "time_zone",
            "start_cron",
            "end_cron",
            "starts_at",
            "ends_at",
            "duration_minutes",
            "active",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def get_active(self, window) -> bool:
        return window.enabled and recurrence.is_active(window, self.context.get("now") or timezone.now())

    def validate(self, attrs):
        attrs = super().validate(attrs)
        minutes = attrs.pop("duration_minutes", None)
        if minutes is not None:
            if attrs.get("starts_at") or attrs.get("ends_at") or attrs.get("start_cron") or attrs.get("end_cron"):
                raise serializers.ValidationError({"duration_minutes": [_("Give a duration or the times, not both.")]})
            now = timezone.now()
            attrs.update(starts_at=now, ends_at=now + timedelta(minutes=minutes), start_cron="", end_cron="")
        fields = ("start_cron", "end_cron", "starts_at", "ends_at")
        probe = MaintenanceWindow(
            **{
                name: attrs.get(name, getattr(self.instance, name, None) or ("" if "cron" in name else None))
                for name in fields
            }
        )
        errors = recurrence.time_errors(probe)
        if errors:
            raise serializers.ValidationError({field: [message] for field, message in errors.items()})
        return attrs


class MaintenanceWindowViewSet(TeamScopedViewSet, viewsets.ModelViewSet):
    """Maintenance windows: while one is active, alerts open incidents but nobody is paged; when it ends, the
    incidents still open are paged."""

    queryset = MaintenanceWindow.objects.prefetch_related("services").order_by("-starts_at", "name", "id")
    serializer_class = MaintenanceWindowSerializer

    def perform_create(self, serializer):
        with transaction.atomic():
            maintenance.saved(serializer.save(created_by=self.request.user))

    def perform_update(self, serializer):
        with transaction.atomic():
            maintenance.saved(serializer.save())

    def perform_destroy(self, instance):
        with transaction.atomic():
            instance.delete()
            escalation.wake_waiting()

    @extend_schema(request=None, responses=MaintenanceWindowSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """End the maintenance now: a one-off ends, a recurring one is disabled; waiting incidents page."""
        window = self.get_object()
        maintenance.end_now(window)
        return Response(self.get_serializer(window).data)
