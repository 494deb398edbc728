"""Handoff notes in the API: the person on call writes them for whoever takes over."""

from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, mixins, permissions, serializers, viewsets

from people.teams import manages, visible
from project.api import as_id
from project.serializers import UserSummarySerializer
from rotations import handoffs
from rotations.models import MAX_HANDOFF_NOTE_LENGTH, HandoffNote, Schedule
from rotations.restrictions import ScheduleError


class HandoffNoteSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    handed_to = UserSummarySerializer(read_only=True, allow_null=True)
    text = serializers.CharField(max_length=MAX_HANDOFF_NOTE_LENGTH, help_text="What the next person should know.")

    class Meta:
        model = HandoffNote
        fields = ["id", "schedule", "user", "shift_end", "text", "written_at", "handed_over_at", "handed_to"]
        read_only_fields = ["schedule", "shift_end", "written_at", "handed_over_at"]


class CanReadSchedules(permissions.BasePermission):
    message = "You may not read schedules."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("rotations.view_schedule"))


class HandoffNoteViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """A schedule's handoff notes. The person on call (or next on call) writes them for the end of their shift;
    they read their own and those handed to them; the schedule's (team) managers read all."""

    serializer_class = HandoffNoteSerializer
    permission_classes = [CanReadSchedules]
    queryset = HandoffNote.objects.none()

    def get_schedule(self):
        if not hasattr(self, "_schedule"):
            pk = self.kwargs["schedule_pk"]
            if as_id(str(pk)) is None:
                raise Http404
            self._schedule = get_object_or_404(visible(Schedule.objects.all(), self.request.user), pk=pk)
        return self._schedule

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HandoffNote.objects.none()
        schedule = self.get_schedule()
        notes = HandoffNote.objects.filter(schedule=schedule).select_related("user", "handed_to")
        user = self.request.user
        if not manages(user, schedule):
            notes = notes.filter(Q(user=user) | Q(handed_to=user))
        return notes.order_by("-written_at", "-id")

    def perform_create(self, serializer):
        schedule, user = self.get_schedule(), self.request.user
        if handoffs.own_run(schedule, user) is None:
            raise exceptions.PermissionDenied(handoffs.no_shift_message())
        try:
            serializer.instance = handoffs.write_note(
                schedule=schedule, user=user, text=serializer.validated_data["text"]
            )
        except ScheduleError as exc:
            raise serializers.ValidationError({"text": [str(exc)]}) from None
