from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from people.api.teams import TeamOwnedSerializer
from project.admin import sees_secrets
from project.serializers import InstantField, UserSummarySerializer
from rotations import plans
from rotations.models import Layer, Override, Schedule, shift_length_error, validate_restrictions

User = get_user_model()


def user_summary(user):
    if user is None:
        return None
    return {"id": user.pk, "username": user.get_username(), "name": user.get_full_name() or user.get_username()}


class UserSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name", "first_name", "last_name", "email"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()

    def to_representation(self, user):
        data = super().to_representation(user)
        request = self.context.get("request")
        if request is not None and request.user.pk != user.pk and not sees_secrets(request.user):
            data["email"] = ""  # others' addresses are for Managers
        return data

    def create(self, validated_data):
        user = User(**validated_data)
        user.set_unusable_password()
        user.save()
        return user


class ScheduleSerializer(TeamOwnedSerializer):
    class Meta:
        model = Schedule
        fields = ["id", "name", "team", "description", "time_zone"]


class ParticipantsField(serializers.ListField):
    """User ids in rotation order: written as a list, read from the layer's participants."""

    def get_attribute(self, layer):
        return [p.user_id for p in layer.participants.all()]

    def to_representation(self, data):
        return list(data)


class LayerSerializer(serializers.ModelSerializer):
    participants = ParticipantsField(
        child=serializers.PrimaryKeyRelatedField(queryset=User.objects.all()),
        allow_empty=True,
        required=False,
        help_text=_("User ids in rotation order; a person may appear more than once."),
    )
    rotation_start = InstantField()
    starts_at = InstantField(required=False, allow_null=True)
    ends_at = InstantField(required=False, allow_null=True)
    restrictions = serializers.JSONField(required=False)

    class Meta:
        model = Layer
        fields = [
            "id",
            "name",
            "priority",
            "rotation_start",
            "starts_at",
            "ends_at",
            "shift_length",
            "shift_unit",
            "participants",
            "restrictions",
        ]

    def validate_shift_length(self, value):
        if value < 1:
            raise serializers.ValidationError(_("The shift length must be at least 1."))
        return value

    def validate(self, attrs):
        unit = attrs.get("shift_unit", getattr(self.instance, "shift_unit", Layer.Unit.WEEKS))
        length = attrs.get("shift_length", getattr(self.instance, "shift_length", 1))
        if length > plans.MAX_SHIFT_LENGTH[unit]:
            raise serializers.ValidationError({"shift_length": [shift_length_error(unit)]})
        return self._validate_span(attrs)

    def validate_restrictions(self, value):
        if value is None:
            return []
        try:
            validate_restrictions(value)
        except Exception as exc:
            raise serializers.ValidationError(getattr(exc, "messages", [str(exc)])) from None
        return value

    def _validate_span(self, attrs):
        rotation_start = attrs.get("rotation_start", getattr(self.instance, "rotation_start", None))
        if "starts_at" in attrs and attrs["starts_at"] is None:
            attrs["starts_at"] = rotation_start
        starts_at = attrs.get("starts_at", getattr(self.instance, "starts_at", None)) or rotation_start
        ends_at = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if ends_at is not None and starts_at is not None and ends_at <= starts_at:
            raise serializers.ValidationError({"ends_at": [_("The end must be after the start.")]})
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        participants = validated_data.pop("participants", [])
        layer = super().create(validated_data)
        layer.set_participants(participants)
        return layer

    @transaction.atomic
    def update(self, instance, validated_data):
        participants = validated_data.pop("participants", None)
        layer = super().update(instance, validated_data)
        if participants is not None:
            layer.set_participants(participants)
        return layer


class OverrideSerializer(serializers.ModelSerializer):
    start = InstantField()
    end = InstantField()

    class Meta:
        model = Override
        fields = ["id", "user", "start", "end", "reason"]

    def validate(self, attrs):
        start = attrs.get("start", getattr(self.instance, "start", None))
        end = attrs.get("end", getattr(self.instance, "end", None))
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end": [_("The end must be after the start.")]})
        return attrs


class ShiftSerializer(serializers.Serializer):
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True)


class OnCallSerializer(serializers.Serializer):
    """Documents the answer of the oncall endpoints."""

    schedule = serializers.IntegerField()
    at = serializers.DateTimeField()
    users = UserSummarySerializer(many=True)
    source = serializers.ChoiceField(choices=["override", "layer", "none"])
    layer = serializers.IntegerField(allow_null=True)
    shift = ShiftSerializer(allow_null=True)


class FinalShiftSerializer(serializers.Serializer):
    user = UserSummarySerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=["override", "layer"])
    layer = serializers.IntegerField(allow_null=True)


class ShiftsSerializer(serializers.Serializer):
    schedule = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    shifts = FinalShiftSerializer(many=True)
    gaps = ShiftSerializer(many=True)
