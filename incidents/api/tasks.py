"""API: the checklist of an incident (`/api/v1/incidents/<id>/tasks/`) and running a play on it."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from incidents import checklist
from incidents.models import Incident, IncidentRole, IncidentTask, Play, PlayRun
from incidents.models.plays import MAX_DESCRIPTION, MAX_SKIP_REASON, MAX_TITLE
from people.teams import visible
from project.api import MAX_ID
from project.serializers import InstantField, UserSummarySerializer

RESPONDER = ["incidents.change_incident"]
READER = ["incidents.view_incident"]


class IncidentTaskSerializer(serializers.ModelSerializer):
    assignee = UserSummarySerializer(read_only=True, allow_null=True)
    done_by = UserSummarySerializer(read_only=True, allow_null=True)
    play = serializers.CharField(source="run.play_name", read_only=True, allow_null=True, default=None)
    role = serializers.ChoiceField(choices=IncidentRole.Role.choices, allow_blank=True, read_only=True)

    class Meta:
        model = IncidentTask
        fields = [
            "id",
            "position",
            "title",
            "description",
            "role",
            "required",
            "due_at",
            "state",
            "assignee",
            "done_by",
            "done_at",
            "skip_reason",
            "play",
            "created_at",
        ]
        read_only_fields = fields


class AddTaskSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=MAX_TITLE)
    description = serializers.CharField(max_length=MAX_DESCRIPTION, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=IncidentRole.Role.choices, required=False, allow_blank=True, default="")
    due_at = InstantField(required=False, allow_null=True, default=None)
    required = serializers.BooleanField(required=False, default=False)


class SkipSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_SKIP_REASON, help_text="Why the task is not done (required).")


class AssignSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))


class RunPlaySerializer(serializers.Serializer):
    play = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The id of the play to run.")


class PlayRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlayRun
        fields = ["id", "play", "play_name", "roles", "ran_at", "ran_by", "tasks_added"]
        read_only_fields = fields


class IncidentTaskViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The tasks on an incident, in order: open, done or skipped. Responders and Managers work them."""

    serializer_class = IncidentTaskSerializer
    queryset = IncidentTask.objects.none()
    pagination_class = None
    action_permissions = {
        "list": READER,
        "create": RESPONDER,
        "complete": RESPONDER,
        "skip": RESPONDER,
        "assign": RESPONDER,
    }

    def get_incident(self):
        return get_object_or_404(Incident.objects.visible_to(self.request.user), pk=self.kwargs["incident_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IncidentTask.objects.none()
        return (
            IncidentTask.objects.filter(incident=self.get_incident())
            .select_related("assignee", "done_by", "run")
            .order_by("position", "pk")
        )

    def _task(self, pk):
        return get_object_or_404(self.get_queryset(), pk=pk)

    def _shown(self, task):
        return Response(IncidentTaskSerializer(self.get_queryset().get(pk=task.pk)).data)

    @extend_schema(request=AddTaskSerializer, responses={201: IncidentTaskSerializer})
    def create(self, request, *args, **kwargs):
        incident = self.get_incident()
        form = AddTaskSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            task = checklist.add(incident, by=request.user, **form.validated_data)
        except ValueError as exc:
            raise ValidationError({"title": [str(exc)]}) from None
        return Response(IncidentTaskSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: IncidentTaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, incident_pk=None, pk=None):
        """Mark the task done (on the timeline, with who and when)."""
        return self._shown(checklist.complete(self._task(pk), by=request.user))

    @extend_schema(request=SkipSerializer, responses={200: IncidentTaskSerializer})
    @action(detail=True, methods=["post"])
    def skip(self, request, incident_pk=None, pk=None):
        """Skip the task, saying why."""
        task = self._task(pk)
        form = SkipSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            task = checklist.skip(task, reason=form.validated_data["reason"], by=request.user)
        except ValueError as exc:
            raise ValidationError({"reason": [str(exc)]}) from None
        return self._shown(task)

    @extend_schema(request=AssignSerializer, responses={200: IncidentTaskSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, incident_pk=None, pk=None):
        """Give the task to a person."""
        task = self._task(pk)
        form = AssignSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            task = checklist.assign(task, user=form.validated_data["user"], by=request.user)
        except ValueError as exc:
            raise ValidationError({"user": [str(exc)]}) from None
        return self._shown(task)


def play_for(request, data):
    """The play a person asked for (one they may see), or a 400 naming the field."""
    form = RunPlaySerializer(data=data)
    form.is_valid(raise_exception=True)
    play = visible(Play.objects.all(), request.user).filter(pk=form.validated_data["play"]).first()
    if play is None:
        raise ValidationError({"play": [_("Unknown play %(id)s.") % {"id": form.validated_data["play"]}]})
    return play


def open_required_response(incident):
    """The 409 of a person resolving an incident with required tasks open (unless they confirm)."""
    tasks = list(checklist.open_required(incident).select_related("assignee", "done_by", "run"))
    return Response(
        {
            "detail": _(
                'Required tasks are still open; resolve with {"confirm": true} to resolve anyway (they stay open).'
            ),
            "open_required_tasks": IncidentTaskSerializer(tasks, many=True).data,
        },
        status=status.HTTP_409_CONFLICT,
    )
