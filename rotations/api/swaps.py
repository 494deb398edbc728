"""Swap and cover requests in the API: `/api/v1/schedules/<id>/swap-requests/` and their answers."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from people.teams import visible
from project.api import MAX_ID, RolePermissions, as_id
from project.serializers import InstantField
from rotations import swaps
from rotations.models import Schedule, SwapRequest

READ = ["rotations.view_schedule"]


def readable_schedule(request, pk):
    """A schedule the person may see (else 404), without asking for the right to change it."""
    if as_id(str(pk)) is None:
        raise exceptions.NotFound
    schedule = visible(Schedule.objects.all(), request.user).filter(pk=pk).first()
    if schedule is None:
        raise exceptions.NotFound
    return schedule


class SwapRequestSerializer(serializers.ModelSerializer):
    """A request as the API shows it; `state` counts an open request whose start has passed as expired."""

    state = serializers.SerializerMethodField()
    offered_to = serializers.SerializerMethodField()
    declined_by = serializers.SerializerMethodField()

    class Meta:
        model = SwapRequest
        fields = [
            "id",
            "schedule",
            "requester",
            "start",
            "end",
            "offered_to",
            "note",
            "state",
            "taken_by",
            "override",
            "declined_by",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields

    def get_state(self, swap) -> str:
        return swap.current_state()

    def get_offered_to(self, swap) -> list[int]:
        return sorted(user.pk for user in swap.offered_to.all())

    def get_declined_by(self, swap) -> list[int]:
        return sorted(user.pk for user in swap.declined_by.all())


class SwapRequestInputSerializer(serializers.Serializer):
    start = InstantField()
    end = InstantField()
    offered_to = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        default=list,
        max_length=swaps.MAX_OFFERED,
        help_text=gettext_lazy("User ids of people on the rotation; empty: everyone else on it."),
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=swaps.MAX_NOTE)


class SwapRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A schedule's swap and cover requests: the people on it ask, the people offered answer."""

    serializer_class = SwapRequestSerializer
    queryset = SwapRequest.objects.none()
    permission_classes = [RolePermissions]
    action_permissions = dict.fromkeys(("list", "retrieve", "create", "accept", "decline", "withdraw"), READ)

    def get_schedule(self):
        # The schedule as its readers see it (404 otherwise); the requests are for its people and managers.
        schedule = readable_schedule(self.request, self.kwargs["schedule_pk"])
        if not (swaps.takes_part(self.request.user, schedule) or swaps.may_manage(self.request.user, schedule)):
            raise exceptions.PermissionDenied(_("Only the people on this schedule and its managers see its requests."))
        return schedule

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SwapRequest.objects.none()
        if not hasattr(self, "_schedule"):
            self._schedule = self.get_schedule()
        return (
            swaps.visible_requests(SwapRequest.objects.filter(schedule=self._schedule), self.request.user)
            .prefetch_related("offered_to", "declined_by")
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=SwapRequestInputSerializer, responses={201: SwapRequestSerializer})
    def create(self, request, schedule_pk=None):
        """Ask for cover of [start, end), time where you are on call, from `offered_to` (empty: everyone)."""
        schedule = self.get_schedule()
        data = SwapRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        swap = swaps.ask(schedule, by=request.user, **data.validated_data)
        return Response(SwapRequestSerializer(swap).data, status=status.HTTP_201_CREATED)

    def _answer(self, answer):
        swap = self.get_object()
        swap = answer(swap, by=self.request.user, now=timezone.now())
        return Response(SwapRequestSerializer(swap).data)

    @extend_schema(request=None, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, schedule_pk=None, pk=None):
        """Take the request (you must be one of the people offered): you get an override for its time."""
        return self._answer(swaps.accept)

    @extend_schema(request=None, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, schedule_pk=None, pk=None):
        """Decline it; once everyone offered has, the request is declined."""
        return self._answer(swaps.decline)

    @extend_schema(request=None, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, schedule_pk=None, pk=None):
        """Take your request back."""
        return self._answer(swaps.withdraw)
