from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from people.api.teams import TeamPermissions, TeamScopedViewSet, visible_parent
from people.teams import visible
from project.api import query_instant
from rotations import oncall, swaps
from rotations.api import serializers as s
from rotations.api.swaps import readable_schedule
from rotations.final_schedule import MAX_WINDOW, split_gaps
from rotations.models import Layer, Override, Participant, Schedule

User = get_user_model()
DEFAULT_SHIFTS_WINDOW = timedelta(days=7)


def iso(value, tz=None):
    """ISO 8601 in the current time zone, as DRF writes datetimes elsewhere in the API."""
    if value is None:
        return None
    text = value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def oncall_payload(schedule, at, name=False, tz=None):
    tz = tz or timezone.get_current_timezone()
    answer = oncall.oncall(schedule, at)
    data = {
        "schedule": schedule.pk,
        "at": iso(answer.at, tz),
        "users": [s.user_summary(user) for user in answer.users],
        "source": answer.source,
        "layer": answer.layer,
        "shift": {"start": iso(answer.shift.start, tz), "end": iso(answer.shift.end, tz)} if answer.shift else None,
    }
    if name:
        data = {"schedule": schedule.pk, "name": schedule.name, **{k: v for k, v in data.items() if k != "schedule"}}
    return data


AT_PARAMETER = OpenApiParameter("at", OpenApiTypes.DATETIME, description="ISO 8601 instant (default: now).")


class ScheduleViewSet(TeamScopedViewSet, viewsets.ModelViewSet):
    """On-call schedules. Managers edit them; every role reads them."""

    queryset = Schedule.objects.all()
    serializer_class = s.ScheduleSerializer
    action_permissions = {"oncall": ["rotations.view_schedule"], "shifts": ["rotations.view_schedule"]}

    def schedule_with_plan(self, start, end):
        schedule = self.get_object()
        return oncall.load_plans([schedule], start=start, end=end)[0]

    @extend_schema(parameters=[AT_PARAMETER], responses=s.OnCallSerializer)
    @action(detail=True, methods=["get"])
    def oncall(self, request, pk=None):
        """Who is on call at `at`, where it comes from, and the final-schedule segment containing it."""
        at = query_instant(request, "at", default=timezone.now())
        schedule = self.schedule_with_plan(at - MAX_WINDOW, at + MAX_WINDOW)
        return Response(oncall_payload(schedule, at))

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="ISO 8601 (default: now)."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="ISO 8601 (default: start + 7 days)."),
        ],
        responses=s.ShiftsSerializer,
    )
    @action(detail=True, methods=["get"])
    def shifts(self, request, pk=None):
        """The final schedule over [start, end): shifts and gaps, at most 366 days."""
        start = query_instant(request, "start", default=timezone.now())
        end = query_instant(request, "end", default=start + DEFAULT_SHIFTS_WINDOW)
        if end <= start:
            raise ValidationError({"end": [_("The end must be after the start.")]})
        if end - start > MAX_WINDOW:
            raise ValidationError({"end": [_("The window may be at most %(days)s days long.") % {"days": 366}]})
        schedule = self.schedule_with_plan(start, end)
        shifts, gaps = split_gaps(oncall.shifts(schedule, start, end))
        return Response(
            {
                "schedule": schedule.pk,
                "start": iso(start),
                "end": iso(end),
                "shifts": [
                    {
                        "user": s.user_summary(shift.user),
                        "start": iso(shift.start),
                        "end": iso(shift.end),
                        "source": shift.source,
                        "layer": shift.layer,
                    }
                    for shift in shifts
                ],
                "gaps": [{"start": iso(gap.start), "end": iso(gap.end)} for gap in gaps],
            }
        )


class ScheduleChildMixin:
    """A schedule's layers or overrides: the schedule's team managers change them too."""

    permission_classes = [TeamPermissions]
    team_path = "schedule__team"

    def get_schedule(self):
        if not hasattr(self, "_schedule"):
            self._schedule = visible_parent(self.request, Schedule.objects.all(), self.kwargs["schedule_pk"])
        return self._schedule

    def perform_create(self, serializer):
        serializer.save(schedule=self.get_schedule())


class LayerViewSet(ScheduleChildMixin, viewsets.ModelViewSet):
    """A schedule's layers (rotations), with their participants in order."""

    serializer_class = s.LayerSerializer
    queryset = Layer.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Layer.objects.none()
        return Layer.objects.filter(schedule=self.get_schedule()).prefetch_related(
            Prefetch("participants", queryset=Participant.objects.order_by("position"))
        )


class OverridePermissions(TeamPermissions):
    """The schedule's managers change its overrides; whoever reads schedules may ask to add one (the people on
    the schedule hand their own shifts: rotations.swaps decides)."""

    def has_permission(self, request, view):
        creating = getattr(view, "action", None) == "create" and request.user and request.user.is_authenticated
        if creating and request.user.has_perm("rotations.view_schedule"):
            return True
        return super().has_permission(request, view)


class OverrideViewSet(ScheduleChildMixin, viewsets.ModelViewSet):
    """A schedule's overrides: someone replaces whoever the layers give during [start, end). The people on the
    schedule may add one handing time where they are on call to someone else on the rotation."""

    serializer_class = s.OverrideSerializer
    queryset = Override.objects.none()
    permission_classes = [OverridePermissions]

    def get_schedule(self):
        if self.action == "create" and not hasattr(self, "_schedule"):
            self._schedule = readable_schedule(self.request, self.kwargs["schedule_pk"])
        return super().get_schedule()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Override.objects.none()
        return Override.objects.filter(schedule=self.get_schedule()).order_by("start", "id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = swaps.create_override(
            self.get_schedule(),
            by=self.request.user,
            user=data["user"],
            start=data["start"],
            end=data["end"],
            reason=data.get("reason", ""),
        )


class OnCallView(generics.GenericAPIView):
    """Every schedule's on-call at once."""

    queryset = Schedule.objects.all()
    pagination_class = None

    @extend_schema(parameters=[AT_PARAMETER], responses=s.OnCallSerializer(many=True))
    def get(self, request):
        at = query_instant(request, "at", default=timezone.now())
        schedules = oncall.load_plans(
            visible(Schedule.objects.only("id", "name", "time_zone"), request.user).order_by("name", "id"),
            start=at - MAX_WINDOW,
            end=at + MAX_WINDOW,
        )
        tz = timezone.get_current_timezone()
        return Response([oncall_payload(schedule, at, name=True, tz=tz) for schedule in schedules])


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """People, so that integrations can map theirs to Piquet's. Managers may create them."""

    queryset = User.objects.filter(is_active=True).order_by("username")
    serializer_class = s.UserSerializer
    action_permissions = {
        "list": ["rotations.view_schedule"],
        "retrieve": ["rotations.view_schedule"],
        "create": ["rotations.add_person"],
    }
