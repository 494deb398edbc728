from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from incidents.api.serializers import ServiceSlugField
from incidents.models import Incident
from people.api.teams import TeamOwnedSerializer
from project import recurrence as window_math
from project.serializers import InstantField
from releases.models import Deployment, FreezeException, ReleaseWindow, validate_cron


class IncidentNumberField(serializers.IntegerField):
    default_error_messages = {"unknown": _("Unknown incident #{value}.")}

    def to_internal_value(self, data):
        number = super().to_internal_value(data)
        incident = Incident.objects.filter(number=number).first() if number > 0 else None
        if incident is None:
            self.fail("unknown", value=number)
        return incident

    def to_representation(self, value):
        return value.number if value is not None else None


# The gate's query parameters. Fields are used unbound, without a Serializer around them: the gate
# is on every pipeline's path and a serializer copies its fields on every request.
GATE_QUERY_FIELDS = {
    "service": ServiceSlugField(required=False),
    "at": InstantField(required=False),
    "environment": serializers.CharField(required=False, allow_blank=True, max_length=100),
    "incident": IncidentNumberField(required=False, help_text=_("Number of the incident this deploy fixes.")),
    "strict": serializers.BooleanField(required=False),
}


def parse_gate_query(params):
    """Validated gate parameters, or a ValidationError naming each bad one."""
    values, errors = {"strict": False}, {}
    for name, field in GATE_QUERY_FIELDS.items():
        if name not in params:
            continue
        try:
            values[name] = field.run_validation(params[name])
        except serializers.ValidationError as exc:
            errors[name] = exc.detail
    if errors:
        raise serializers.ValidationError(errors)
    return values


class ReasonSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["window", "outside_allow", "incident"])
    name = serializers.CharField()
    message = serializers.CharField()
    until = serializers.DateTimeField(allow_null=True)


class ExceptionBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.username")
    approved_by = serializers.CharField(source="approved_by.username")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    incident = IncidentNumberField(read_only=True, allow_null=True)


class GateAnswerSerializer(serializers.Serializer):
    service = serializers.CharField(source="service.slug")
    at = serializers.DateTimeField()
    allowed = serializers.BooleanField()
    reasons = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    exception = ExceptionBriefSerializer(allow_null=True)
    next_allowed_at = serializers.DateTimeField(allow_null=True)
    fixes_incident = IncidentNumberField(read_only=True, allow_null=True)

    def get_reasons(self, decision) -> list[dict]:
        return ReasonSerializer([r.as_dict() for r in decision.reasons], many=True).data

    def get_warnings(self, decision) -> list[dict]:
        return ReasonSerializer([r.as_dict() for r in decision.warnings], many=True).data


_datetime = serializers.DateTimeField()


def _iso(value):
    return _datetime.to_representation(value) if value is not None else None


def _reason(reason):
    return {"kind": reason.kind, "name": reason.name, "message": reason.message, "until": _iso(reason.until)}


def gate_answer(decision):
    """The gate's JSON answer (the shape of GateAnswerSerializer, built directly: it is on every pipeline's path)."""
    exception = decision.exception
    return {
        "service": decision.service.slug,
        "at": _iso(decision.at),
        "allowed": decision.allowed,
        "reasons": [_reason(r) for r in decision.reasons],
        "warnings": [_reason(w) for w in decision.warnings],
        "exception": None
        if exception is None
        else {
            "id": exception.pk,
            "reason": exception.reason,
            "requested_by": exception.requested_by.username,
            "approved_by": exception.approved_by.username,
            "starts_at": _iso(exception.starts_at),
            "ends_at": _iso(exception.ends_at),
            "incident": exception.incident.number if exception.incident_id else None,
        },
        "next_allowed_at": _iso(decision.next_allowed_at),
        "fixes_incident": decision.fixes_incident.number if decision.fixes_incident else None,
    }


class ReleaseWindowSerializer(TeamOwnedSerializer):
    services = ServiceSlugField(many=True, required=False)
    start_cron = serializers.CharField(required=False, allow_blank=True, max_length=100)
    end_cron = serializers.CharField(required=False, allow_blank=True, max_length=100)
    starts_at = InstantField(required=False, allow_null=True)
    ends_at = InstantField(required=False, allow_null=True)
    active_now = serializers.SerializerMethodField()
    next_start = serializers.SerializerMethodField()
    next_end = serializers.SerializerMethodField()
    rule = serializers.SerializerMethodField()

    class Meta:
        model = ReleaseWindow
        fields = [
            "id",
            "name",
            "team",
            "kind",
            "enforcement",
            "time_zone",
            "services",
            "environments",
            "message",
            "enabled",
            "start_cron",
            "end_cron",
            "starts_at",
            "ends_at",
            "holiday_country",
            "holiday_subdivision",
            "active_now",
            "next_start",
            "next_end",
            "rule",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_start_cron(self, value):
        return self._cron(value)

    def validate_end_cron(self, value):
        return self._cron(value)

    def _cron(self, value):

        value = " ".join((value or "").split())
        try:
            validate_cron(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

    def validate(self, attrs):
        attrs = super().validate(attrs)
        values = {
            f: getattr(self.instance, f) if self.instance else ReleaseWindow._meta.get_field(f).get_default()
            for f in (
                "name",
                "kind",
                "enforcement",
                "time_zone",
                "start_cron",
                "end_cron",
                "starts_at",
                "ends_at",
                "holiday_country",
                "holiday_subdivision",
            )
        }
        values.update({k: v for k, v in attrs.items() if k in values})
        for text in ("start_cron", "end_cron", "holiday_country", "holiday_subdivision"):
            values[text] = values[text] or ""
        try:
            ReleaseWindow(**values).clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        for text in ("start_cron", "end_cron", "holiday_country", "holiday_subdivision"):
            if text in attrs:
                attrs[text] = attrs[text] or ""
        return attrs

    def _change(self, window):
        cache = self.context.setdefault("_changes", {})
        if window.pk not in cache:
            now = self.context.get("now") or timezone.now()
            cache[window.pk] = (window_math.is_active(window, now), *window_math.next_change(window, now))
        return cache[window.pk]

    def get_active_now(self, window) -> bool:
        return self._change(window)[0]

    def get_next_start(self, window) -> str | None:
        start = self._change(window)[1]
        return serializers.DateTimeField().to_representation(start) if start else None

    def get_next_end(self, window) -> str | None:
        end = self._change(window)[2]
        return serializers.DateTimeField().to_representation(end) if end else None

    def get_rule(self, window) -> str:
        return window_math.describe_rule(window)


class FreezeExceptionSerializer(serializers.ModelSerializer):
    services = ServiceSlugField(many=True, read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, allow_null=True)
    incident = IncidentNumberField(read_only=True, allow_null=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = FreezeException
        fields = [
            "id",
            "services",
            "reason",
            "requested_by",
            "approved_by",
            "approved_at",
            "starts_at",
            "ends_at",
            "incident",
            "status",
            "created_at",
        ]
        read_only_fields = fields

    def get_status(self, exception) -> str:
        if exception.ends_at <= timezone.now():
            return "expired"
        return "approved" if exception.is_approved else "pending"


class FreezeExceptionRequestSerializer(serializers.Serializer):
    services = serializers.ListField(child=ServiceSlugField(), allow_empty=False)
    reason = serializers.CharField(max_length=5000)
    starts_at = InstantField(required=False)
    ends_at = InstantField()
    incident = IncidentNumberField(required=False, allow_null=True)

    def validate(self, attrs):
        attrs.setdefault("starts_at", timezone.now())
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": [_("ends_at must be after starts_at.")]})
        return attrs


class DeploymentSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.slug", read_only=True)
    exception = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    fixes_incident = IncidentNumberField(read_only=True, allow_null=True)
    at = serializers.DateTimeField(source="deployed_at", read_only=True)
    # A link, or "" when the pipeline gave none (not a URI then).
    url = serializers.CharField(read_only=True, help_text="The pipeline or release page, or empty.")

    class Meta:
        model = Deployment
        fields = [
            "id",
            "service",
            "version",
            "environment",
            "url",
            "actor",
            "at",
            "decision",
            "reasons",
            "warnings",
            "exception",
            "fixes_incident",
            "flagged",
            "source",
            "created_at",
        ]
        read_only_fields = fields


class DeploymentRecordSerializer(serializers.Serializer):
    service = ServiceSlugField(required=False)
    version = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    environment = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    url = serializers.URLField(max_length=1000, required=False, allow_blank=True, default="")
    actor = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    at = InstantField(required=False)
    incident = IncidentNumberField(required=False, allow_null=True, help_text=_("The incident this deploy fixes."))
