from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from incidents import checklist, lifecycle, plays
from incidents.api import serializers as s
from incidents.api.responders import BridgeSerializer, set_bridge_from_request
from incidents.api.tasks import PlayRunSerializer, RunPlaySerializer, open_required_response, play_for
from incidents.models import AckChannel, Incident, Integration, Service, Severity, Status, TimelineEntry
from incidents.public_status import set_public_status
from people.api.teams import TeamPermissions, TeamScopedViewSet, visible_parent
from project.api import as_id, query_instant

RESPONDER = ["incidents.change_incident"]


class ServiceViewSet(TeamScopedViewSet, viewsets.ModelViewSet):
    """Services: what can break and be paged for. Managers edit them."""

    queryset = Service.objects.all()
    serializer_class = s.ServiceSerializer

    def _save(self, serializer):
        """Save the service; its public status changes only through set_public_status (which records it)."""
        wanted = serializer.validated_data.pop("public_status", None)
        with transaction.atomic():
            service = serializer.save()
            if wanted is not None:
                set_public_status(service, wanted, by=self.request.user)

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer)


class IntegrationViewSet(viewsets.ModelViewSet):
    """A service's integrations; the key and the URLs to paste into a monitoring tool."""

    serializer_class = s.IntegrationSerializer
    queryset = Integration.objects.none()
    permission_classes = [TeamPermissions]
    team_path = "service__team"

    def get_service(self):
        if not hasattr(self, "_service"):
            self._service = visible_parent(self.request, Service.objects.all(), self.kwargs["service_pk"])
        return self._service

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Integration.objects.none()
        return Integration.objects.filter(service=self.get_service()).select_related("service")

    def perform_create(self, serializer):
        serializer.save(service=self.get_service())

    @extend_schema(request=None, responses=s.IntegrationSerializer)
    @action(detail=True, methods=["post"], url_path="regenerate-key")
    def regenerate_key(self, request, service_pk=None, pk=None):
        integration = self.get_object()
        integration.regenerate_key()
        return Response(self.get_serializer(integration).data)

    action_permissions = {"regenerate_key": ["incidents.change_integration"]}


def _csv_choices(request, name, choices):
    raw = request.query_params.get(name)
    if not raw:
        return None
    values = [v.strip() for v in raw.split(",") if v.strip()]
    unknown = [v for v in values if v not in choices]
    if unknown:
        raise ValidationError({name: [f"Unknown value(s) {', '.join(unknown)}; expected {', '.join(choices)}."]})
    return values


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="Comma-separated: triggered, acknowledged, resolved."),
            OpenApiParameter("service", str, description="Service id or slug."),
            OpenApiParameter("severity", str, description="Comma-separated: SEV1 … SEV4."),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME, description="ISO 8601 instant."),
        ]
    ),
    create=extend_schema(request=s.DeclareIncidentSerializer, responses={201: s.IncidentSerializer}),
)
class IncidentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Incidents: list and filter them, declare one, and work it."""

    serializer_class = s.IncidentSerializer
    queryset = Incident.objects.select_related("service", "acknowledged_by", "resolved_by")
    action_permissions = {
        "acknowledge": RESPONDER,
        "resolve": RESPONDER,
        "escalate": RESPONDER,
        "severity": RESPONDER,
        "urgency": RESPONDER,
        "merge": RESPONDER,
        "bridge": RESPONDER,
        "type": RESPONDER,
        "run_play": RESPONDER,
        "create": ["incidents.add_incident"],
    }

    def get_queryset(self):
        queryset = super().get_queryset().visible_to(self.request.user)
        if self.action != "list":
            return queryset
        params = self.request.query_params
        statuses = _csv_choices(self.request, "status", Status.values)
        if statuses:
            queryset = queryset.filter(status__in=statuses)
        severities = _csv_choices(self.request, "severity", Severity.values)
        if severities:
            queryset = queryset.filter(severity__in=severities)
        service = params.get("service")
        if service:
            match = Q(service__slug=service)
            if (service_id := as_id(service)) is not None:
                match |= Q(service_id=service_id)
            queryset = queryset.filter(match)
        created_after = query_instant(self.request, "created_after")
        if created_after is not None:
            queryset = queryset.filter(created_at__gt=created_after)
        return queryset

    def create(self, request, *args, **kwargs):
        form = s.DeclareIncidentSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        incident = lifecycle.declare(by=request.user, **form.validated_data)
        return Response(s.IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    def _reloaded(self, incident):
        return self.get_queryset().get(pk=incident.pk)

    @extend_schema(request=None, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        incident = lifecycle.acknowledge(self.get_object(), by=request.user, channel=AckChannel.API)
        return Response(s.IncidentSerializer(self._reloaded(incident)).data)

    @extend_schema(request=s.ResolveSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Resolve the incident. With required tasks open, 409 lists them unless `confirm` is true (they stay open)."""
        form = s.ResolveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        incident = self.get_object()
        if incident.is_open and not form.validated_data["confirm"] and checklist.open_required(incident).exists():
            return open_required_response(incident)
        incident = lifecycle.resolve(incident, by=request.user, message=form.validated_data["message"])
        return Response(s.IncidentSerializer(self._reloaded(incident)).data)

    @extend_schema(request=s.IncidentTypeSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post", "patch"])
    def type(self, request, pk=None):
        """Say what kind of trouble the incident is (availability, security …); plays for that type follow."""
        form = s.IncidentTypeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        incident = lifecycle.change_type(
            self.get_object(), incident_type=form.validated_data["incident_type"], by=request.user
        )
        return Response(s.IncidentSerializer(self._reloaded(incident)).data)

    @extend_schema(request=RunPlaySerializer, responses={201: PlayRunSerializer, 200: PlayRunSerializer})
    @action(detail=True, methods=["post"], url_path="run-play")
    def run_play(self, request, pk=None):
        """Run a play on the incident by hand: its tasks are added. A play that ran already adds nothing (200)."""
        incident = self.get_object()
        play = play_for(request, request.data)
        play_run, created = plays.run(incident, play, by=request.user)
        data = PlayRunSerializer(play_run).data
        if not created:
            data["detail"] = _("The play %(play)s ran on this incident already: nothing was added.") % {
                "play": play.name
            }
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=s.SeveritySerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def severity(self, request, pk=None):
        """Raise or lower the incident's severity, saying why; the stakeholder cadence and notices follow it."""
        form = s.SeveritySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        incident = lifecycle.change_severity(
            self.get_object(),
            severity=form.validated_data["severity"],
            reason=form.validated_data["reason"],
            by=request.user,
        )
        return Response(s.IncidentSerializer(self._reloaded(incident)).data)

    @extend_schema(request=s.UrgencySerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def urgency(self, request, pk=None):
        """Make the incident high urgency (it pages now, at any hour) or low (it waits for support hours)."""
        form = s.UrgencySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            incident = lifecycle.change_urgency(
                self.get_object(),
                urgency=form.validated_data["urgency"],
                reason=form.validated_data["reason"],
                by=request.user,
            )
        except ValueError as exc:
            raise ValidationError({"reason": [str(exc)]}) from None
        return Response(s.IncidentSerializer(self._reloaded(incident)).data)

    @extend_schema(request=None, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        """Fire the next step of the call chain now."""
        incident = lifecycle.escalate(self.get_object(), by=request.user)
        return Response(s.IncidentSerializer(self._reloaded(incident)).data)

    @extend_schema(request=s.MergeSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge this incident, a duplicate, into the open incident `into`: it is resolved as merged, its alerts
        and its dedup key go to `into`, which is returned."""
        incident = self.get_object()
        form = s.MergeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        into = get_object_or_404(Incident.objects.visible_to(request.user), pk=form.validated_data["into"])
        into = lifecycle.merge(incident, into=into, by=request.user)
        return Response(s.IncidentSerializer(self._reloaded(into)).data)

    @extend_schema(request=BridgeSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def bridge(self, request, pk=None):
        """Set the conference bridge: `url` (http or https) and `phone` (free text, e.g. "+41 44 000 00 00 PIN
        1234"); a field left out keeps its value, an empty one clears it."""
        incident = set_bridge_from_request(self.get_object(), request)
        return Response(s.IncidentSerializer(self._reloaded(incident)).data)


class TimelineViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """An incident's timeline, oldest first. POST adds a note."""

    serializer_class = s.TimelineEntrySerializer
    queryset = TimelineEntry.objects.none()
    pagination_class = None

    def get_incident(self):
        return get_object_or_404(Incident.objects.visible_to(self.request.user), pk=self.kwargs["incident_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TimelineEntry.objects.none()
        return TimelineEntry.objects.filter(incident=self.get_incident()).select_related("actor")

    @extend_schema(request=s.NoteSerializer, responses={201: s.TimelineEntrySerializer})
    def create(self, request, *args, **kwargs):
        form = s.NoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            entry = lifecycle.add_note(self.get_incident(), by=request.user, message=form.validated_data["message"])
        except ValueError as exc:
            raise ValidationError({"message": [str(exc)]}) from None
        return Response(s.TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)
