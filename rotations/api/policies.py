"""API for escalation policies, steps nested: `{"targets": [{"type": "user", "id": 3}, …]}`."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import include, path
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.routers import SimpleRouter

from people.api.teams import TeamOwnedSerializer, TeamScopedViewSet
from project.api import MAX_ID
from rotations.models import EscalationPolicy, EscalationStep, Schedule


class TargetSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["user", "schedule"])
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class StepSerializer(serializers.Serializer):
    escalate_after_minutes = serializers.IntegerField(min_value=1, max_value=1440)
    targets = TargetSerializer(many=True)

    def validate_targets(self, targets):
        if not targets:
            raise serializers.ValidationError("A step needs at least one target.")
        users = {t["id"] for t in targets if t["type"] == "user"}
        schedules = {t["id"] for t in targets if t["type"] == "schedule"}
        missing_users = users - set(get_user_model().objects.filter(pk__in=users).values_list("pk", flat=True))
        missing_schedules = schedules - set(Schedule.objects.filter(pk__in=schedules).values_list("pk", flat=True))
        errors = [f"Unknown user {pk}." for pk in sorted(missing_users)]
        errors += [f"Unknown schedule {pk}." for pk in sorted(missing_schedules)]
        if errors:
            raise serializers.ValidationError(errors)
        return targets


class EscalationPolicySerializer(TeamOwnedSerializer):
    steps = serializers.SerializerMethodField()
    repeat = serializers.IntegerField(min_value=0, max_value=9, default=0)

    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "team", "description", "repeat", "steps"]

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, policy):
        return [step.snapshot() for step in policy.steps.all()]

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        if "steps" in data or not self.partial:
            steps = StepSerializer(data=data.get("steps", []), many=True)
            if not steps.is_valid():
                raise serializers.ValidationError({"steps": steps.errors})
            validated["steps"] = steps.validated_data
        return validated

    def _write_steps(self, policy, steps):
        policy.steps.all().delete()
        for position, data in enumerate(steps):
            step = EscalationStep.objects.create(
                policy=policy, position=position, escalate_after_minutes=data["escalate_after_minutes"]
            )
            step.users.set([t["id"] for t in data["targets"] if t["type"] == "user"])
            step.schedules.set([t["id"] for t in data["targets"] if t["type"] == "schedule"])

    @transaction.atomic
    def create(self, validated_data):
        steps = validated_data.pop("steps", [])
        policy = EscalationPolicy.objects.create(**validated_data)
        self._write_steps(policy, steps)
        return policy

    @transaction.atomic
    def update(self, instance, validated_data):
        steps = validated_data.pop("steps", None)
        for field, value in validated_data.items():
            setattr(instance, field, value)
        instance.save()
        if steps is not None:
            self._write_steps(instance, steps)
        return instance


class EscalationPolicyViewSet(TeamScopedViewSet, viewsets.ModelViewSet):
    """Call chains: ordered steps of people and schedules, repeated while nobody acknowledges."""

    queryset = EscalationPolicy.objects.prefetch_related("steps__users", "steps__schedules")
    serializer_class = EscalationPolicySerializer


router = SimpleRouter()
router.register("escalation-policies", EscalationPolicyViewSet, basename="escalation-policy")

urlpatterns = [path("api/v1/", include(router.urls))]
