"""`/api/v1/plays/`: the written process of incidents, edited by Managers and by team managers for their teams.

The plays live in incidents; their stakeholder groups live here, in comms, which is why the endpoint does too.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import serializers, viewsets

from comms.models import StakeholderGroup
from incidents.api.serializers import ServiceSlugField
from incidents.models import IncidentRole, IncidentType, Play, PlayTask, Service, Severity
from incidents.models.plays import MAX_TASKS
from people.api.teams import TeamOwnedSerializer, TeamScopedViewSet
from people.teams import visible

# Rotations' models, reached through the play's fields (comms does not import rotations).
Schedule = Play._meta.get_field("responder_schedules").related_model
EscalationPolicy = Play._meta.get_field("responder_policies").related_model


class PlayTaskSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=IncidentRole.Role.choices, required=False, allow_blank=True)

    class Meta:
        model = PlayTask
        fields = ["id", "position", "title", "description", "role", "due_minutes", "required"]
        read_only_fields = ["id", "position"]


class RespondersSerializer(serializers.Serializer):
    """Who the play calls in: people, whoever is on call on schedules, call chains (ids)."""

    users = serializers.PrimaryKeyRelatedField(
        many=True, required=False, source="responder_users", queryset=get_user_model().objects.filter(is_active=True)
    )
    schedules = serializers.PrimaryKeyRelatedField(
        many=True, required=False, source="responder_schedules", queryset=Schedule.objects.all()
    )
    policies = serializers.PrimaryKeyRelatedField(
        many=True, required=False, source="responder_policies", queryset=EscalationPolicy.objects.all()
    )


class PlaySerializer(TeamOwnedSerializer):
    services = ServiceSlugField(many=True, required=False, help_text="Service slugs; empty: every service.")
    severities = serializers.ListField(
        child=serializers.ChoiceField(choices=Severity.choices), required=False, help_text="Empty: every severity."
    )
    incident_types = serializers.ListField(
        child=serializers.ChoiceField(choices=IncidentType.choices), required=False, help_text="Empty: any type."
    )
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=IncidentRole.Role.choices),
        required=False,
        help_text="Roles the incident must have filled.",
    )
    tasks = PlayTaskSerializer(many=True, required=False, max_length=MAX_TASKS, help_text="In order.")
    responders = RespondersSerializer(source="*", required=False)
    stakeholder_groups = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=StakeholderGroup.objects.all(), help_text="Told when the play runs."
    )

    class Meta:
        model = Play
        fields = [
            "id",
            "name",
            "team",
            "description",
            "enabled",
            "services",
            "severities",
            "incident_types",
            "tasks",
            "roles",
            "responders",
            "stakeholder_groups",
            "bridge_url",
            "bridge_phone",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def get_fields(self):
        """What a person may name: their teams' and organisation-wide services, groups, schedules and policies."""
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and not getattr(self.context.get("view"), "swagger_fake_view", False):
            user = request.user
            fields["services"].child_relation.queryset = visible(Service.objects.all(), user)
            fields["stakeholder_groups"].child_relation.queryset = visible(StakeholderGroup.objects.all(), user)
            responders = fields["responders"].fields
            responders["schedules"].child_relation.queryset = visible(Schedule.objects.all(), user)
            responders["policies"].child_relation.queryset = visible(EscalationPolicy.objects.all(), user)
        return fields

    def validate_bridge_url(self, value):
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError(_("Give an http or https address."))
        return value

    def validate_bridge_phone(self, value):
        value = value.strip()
        if value and not any(ch.isdigit() for ch in value):
            raise serializers.ValidationError(_("Give a phone number, e.g. +41 44 000 00 00 PIN 123456."))
        return value

    def _unique(self, values):
        return list(dict.fromkeys(values))

    def validate(self, attrs):
        attrs = super().validate(attrs)
        for name in ("severities", "incident_types", "roles"):
            if name in attrs:
                attrs[name] = self._unique(attrs[name])
        return attrs

    def _write(self, play, tasks, groups, related):
        for name, values in related.items():
            getattr(play, name).set(values)
        if groups is not None:
            play.stakeholder_groups.set(groups)
        if tasks is not None:
            play.tasks.all().delete()  # incidents keep their copies: the play's tasks are written again in order
            PlayTask.objects.bulk_create(
                PlayTask(play=play, position=index + 1, **task) for index, task in enumerate(tasks)
            )
        return play

    def _split(self, validated_data):
        tasks = validated_data.pop("tasks", None)
        groups = validated_data.pop("stakeholder_groups", None)
        names = ("services", "responder_users", "responder_schedules", "responder_policies")
        related = {name: validated_data.pop(name) for name in names if name in validated_data}
        return tasks, groups, related

    def create(self, validated_data):
        tasks, groups, related = self._split(validated_data)
        with transaction.atomic():
            return self._write(Play.objects.create(**validated_data), tasks, groups, related)

    def update(self, instance, validated_data):
        tasks, groups, related = self._split(validated_data)
        with transaction.atomic():
            for name, value in validated_data.items():
                setattr(instance, name, value)
            instance.save()
            return self._write(instance, tasks, groups, related)


class PlayViewSet(TeamScopedViewSet, viewsets.ModelViewSet):
    """Plays: what to do when an incident of some kind opens. Managers (and team managers) edit them."""

    queryset = Play.objects.prefetch_related(
        "services", "tasks", "responder_users", "responder_schedules", "responder_policies", "stakeholder_groups"
    ).order_by("name", "id")
    serializer_class = PlaySerializer
