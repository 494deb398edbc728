from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from incidents.lifecycle import MAX_REASON
from incidents.models import Incident, IncidentType, Integration, Service, Severity, TimelineEntry, Urgency
from people.api.teams import TeamOwnedSerializer
from people.teams import visible
from project.admin import sees_secrets
from project.api import MAX_ID, as_id
from project.serializers import UserSummarySerializer
from project.text import mask_key


class ServiceSerializer(TeamOwnedSerializer):
    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "slug",
            "team",
            "description",
            "escalation_policy",
            "public_name",
            "public_description",
            "public_status",
            "auto_publish",
            "high_urgency_severities",
            "support_hours",
            "time_zone",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class ServiceSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "slug", "name"]


class IntegrationSerializer(serializers.ModelSerializer):
    url = serializers.CharField(
        read_only=True,
        help_text="Where the monitoring tool sends its events: the Events API v2 endpoint (with the key as "
        "routing_key) or, for an Alertmanager or webhook integration, its URL; for a heartbeat, the URL to ping.",
    )

    class Meta:
        model = Integration
        fields = [
            "id",
            "service",
            "kind",
            "name",
            "key",
            "enabled",
            "max_events_per_minute",
            "title_expr",
            "severity_expr",
            "dedup_expr",
            "resolve_expr",
            "default_severity",
            "created_at",
            "url",
            "period_seconds",
            "grace_seconds",
            "last_ping_at",
        ]
        read_only_fields = ["service", "key", "created_at", "last_ping_at"]

    def to_representation(self, integration):
        data = super().to_representation(integration)
        request = self.context.get("request")
        if request is not None and not sees_secrets(request.user):
            # The key is a credential: only Managers see it (and use it to configure the monitoring tool).
            data["key"] = mask_key(integration.key)
            data["url"] = data["url"].replace(integration.key, data["key"])
        return data


class IncidentSerializer(serializers.ModelSerializer):
    service = ServiceSummarySerializer(read_only=True)
    acknowledged_by = UserSummarySerializer(read_only=True, allow_null=True)
    resolved_by = UserSummarySerializer(read_only=True, allow_null=True)
    # Declared: a read-only field built from the model loses `allow_blank`, and the schema would then promise
    # a type and a link that an incident without them does not have.
    incident_type = serializers.ChoiceField(choices=IncidentType.choices, allow_blank=True, read_only=True)
    bridge_url = serializers.CharField(read_only=True, help_text=Incident._meta.get_field("bridge_url").help_text)

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "title",
            "description",
            "service",
            "severity",
            "urgency",
            "incident_type",
            "status",
            "dedup_key",
            "alert_count",
            "created_at",
            "last_alert_at",
            "acknowledged_at",
            "resolved_at",
            "acknowledged_by",
            "resolved_by",
            "merged_into",
            "bridge_url",
            "bridge_phone",
        ]
        read_only_fields = fields


class DeclareIncidentSerializer(serializers.Serializer):
    service = serializers.CharField(help_text="The service's id or slug.")
    title = serializers.CharField(max_length=1024)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.SEV2)

    def validate_service(self, value):
        request = self.context.get("request")
        services = visible(Service.objects.all(), request.user) if request else Service.objects.all()
        service = services.filter(slug=value).first()
        if service is None and (service_id := as_id(value)) is not None:
            service = services.filter(pk=service_id).first()
        if service is None:
            raise serializers.ValidationError(f"Unknown service {value!r}.")
        return service


class TimelineEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    kind_display = serializers.SerializerMethodField(help_text="The kind in the request's language.")
    message = serializers.SerializerMethodField(help_text="The entry in the request's language (Accept-Language).")

    class Meta:
        model = TimelineEntry
        fields = ["id", "at", "kind", "kind_display", "actor", "message", "data"]
        read_only_fields = fields

    def get_actor(self, entry) -> str:
        return entry.actor_display

    def get_kind_display(self, entry) -> str:
        return entry.get_kind_display()

    def get_message(self, entry) -> str:
        return entry.text


class NoteSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=10_000, trim_whitespace=True)


class ResolveSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")
    confirm = serializers.BooleanField(
        required=False, default=False, help_text="Resolve although required tasks are open (else 409 lists them)."
    )


class IncidentTypeSerializer(serializers.Serializer):
    incident_type = serializers.ChoiceField(
        choices=IncidentType.choices, allow_blank=True, help_text="What kind of trouble this is; blank: not set."
    )


class UrgencySerializer(serializers.Serializer):
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    reason = serializers.CharField(
        max_length=MAX_REASON, trim_whitespace=True, help_text="Why the urgency changes: one line, on the timeline."
    )


class SeveritySerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    reason = serializers.CharField(
        max_length=MAX_REASON, trim_whitespace=True, help_text="Why the severity changes: one line, on the timeline."
    )


class ServiceSlugField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": _("Unknown service {value}."),
        "invalid": _("Give a service slug."),
    }

    def __init__(self, **kwargs):
        if not kwargs.get("read_only"):
            kwargs["queryset"] = Service.objects.all()
        super().__init__(slug_field="slug", **kwargs)

    def to_internal_value(self, data):
        try:
            return self.get_queryset().get(slug=data)
        except Service.DoesNotExist:
            self.fail("does_not_exist", value=repr(str(data)))
        except (TypeError, ValueError):
            self.fail("invalid")


class MergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The id of the open incident that carries on and takes the alerts."
    )
