import logging

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.ingest_views import accepted_key
from incidents.models import Integration
from people.api.teams import TeamScopedViewSet
from project.clock import parse_timestamp
from project.rawjson import ERROR_SCHEMA as EVENT_ERROR
from project.rawjson import EventRejected, RawJSONView, answer
from releases import approvals, deployments, gate
from releases.api import auth
from releases.api.serializers import (
    DeploymentRecordSerializer,
    DeploymentSerializer,
    FreezeExceptionRequestSerializer,
    FreezeExceptionSerializer,
    GateAnswerSerializer,
    ReleaseWindowSerializer,
    gate_answer,
    parse_gate_query,
)
from releases.models import Deployment, FreezeException, ReleaseWindow

logger = logging.getLogger(__name__)


def _service_for(request, service):
    """The service asked about; an integration key speaks for its own service only."""
    integration = auth.integration_of(request)
    if integration is not None:
        if service is not None and service.pk != integration.service_id:
            raise exceptions.PermissionDenied(
                _("This integration key belongs to service %(slug)s.") % {"slug": integration.service.slug}
            )
        return integration.service
    if service is None:
        raise exceptions.ValidationError({"service": [_("This parameter is required.")]})
    return service


def _check_fixes(incident, service):
    if incident is not None and incident.service_id != service.pk:
        message = _("Incident #%(number)s is not on %(slug)s.") % {"number": incident.number, "slug": service.slug}
        raise exceptions.ValidationError({"incident": [message]})


class GateView(APIView):
    """May this service be deployed now (or at `at`)? With `strict=1`, a blocked answer is HTTP 423."""

    authentication_classes = auth.AUTHENTICATION
    permission_classes = [auth.UserPermOrIntegration]
    required_perms = ["releases.view_releasewindow"]

    @extend_schema(
        operation_id="releases_gate",
        parameters=[
            OpenApiParameter("service", str, description="Service slug (implied by an integration key)."),
            OpenApiParameter("at", OpenApiTypes.DATETIME, description="Ask about another instant (ISO 8601)."),
            OpenApiParameter("environment", str, description="Only windows for this environment apply."),
            OpenApiParameter("incident", int, description="Number of the open incident this deploy fixes."),
            OpenApiParameter("strict", bool, description="Answer 423 instead of 200 when blocked."),
            OpenApiParameter("routing_key", str, description="Integration key, instead of a user token."),
        ],
        responses={200: GateAnswerSerializer, 423: GateAnswerSerializer},
        tags=["releases"],
    )
    def get(self, request):
        params = parse_gate_query(request.query_params)
        service = _service_for(request, params.get("service"))
        fixes = params.get("incident")
        _check_fixes(fixes, service)
        decision = gate.decide(
            service=service,
            at=params.get("at") or timezone.now(),
            environment=params.get("environment", ""),
            fixes_incident=fixes,
        )
        code = status.HTTP_423_LOCKED if params["strict"] and not decision.allowed else status.HTTP_200_OK
        return Response(gate_answer(decision), status=code)


@extend_schema(tags=["releases"])
class ReleaseWindowViewSet(TeamScopedViewSet, viewsets.ModelViewSet):
    """Release windows and freezes."""

    serializer_class = ReleaseWindowSerializer
    queryset = ReleaseWindow.objects.prefetch_related("services").order_by("name", "id")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}


@extend_schema(tags=["releases"])
class FreezeExceptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Freeze exceptions: anyone with a role may request one; a manager other than the requester approves."""

    serializer_class = FreezeExceptionSerializer
    queryset = FreezeException.objects.select_related("requested_by", "approved_by", "incident").prefetch_related(
        "services"
    )
    action_permissions = {
        "create": ["releases.view_freezeexception"],
        "approve": ["releases.change_freezeexception"],
    }

    @extend_schema(request=FreezeExceptionRequestSerializer, responses={201: FreezeExceptionSerializer})
    def create(self, request):
        data = FreezeExceptionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        exception = approvals.request_exception(requested_by=request.user, **data.validated_data)
        exception = self.get_queryset().get(pk=exception.pk)
        return Response(self.get_serializer(exception).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: FreezeExceptionSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        exception = self.get_object()
        try:
            approvals.approve_exception(exception, by=request.user)
        except approvals.ApprovalForbidden as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        exception = self.get_queryset().get(pk=exception.pk)
        return Response(self.get_serializer(exception).data)


@extend_schema(tags=["releases"])
class DeploymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Recorded deployments with the gate's decision. CI may record with an integration key."""

    serializer_class = DeploymentSerializer
    queryset = Deployment.objects.select_related("service", "fixes_incident").order_by("-deployed_at", "-id")
    filterable = ("decision", "environment")

    authentication_classes = auth.AUTHENTICATION

    def get_permissions(self):
        if getattr(self, "action", None) == "create":
            return [auth.UserPermOrIntegration()]
        return super().get_permissions()

    required_perms = ["releases.add_deployment"]

    def get_queryset(self):
        queryset = super().get_queryset()
        params = self.request.query_params
        if params.get("service"):
            queryset = queryset.filter(service__slug=params["service"])
        for name in self.filterable:
            if params.get(name):
                queryset = queryset.filter(**{name: params[name]})
        if params.get("flagged") in ("1", "true"):
            queryset = queryset.filter(flagged=True)
        return queryset

    @extend_schema(request=DeploymentRecordSerializer, responses={201: DeploymentSerializer})
    def create(self, request):
        data = DeploymentRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        service = _service_for(request, params.get("service"))
        fixes = params.get("incident")
        _check_fixes(fixes, service)
        integration = auth.integration_of(request)
        deployment, _decision = deployments.record_deployment(
            service=service,
            version=params["version"],
            environment=params["environment"],
            url=params["url"],
            actor=params["actor"] or (str(request.user) if integration is None else integration.name),
            at=params.get("at"),
            user=None if integration is not None else request.user,
            integration=integration,
            fixes_incident=fixes,
            source="integration" if integration is not None else "api",
        )
        deployment = self.get_queryset().get(pk=deployment.pk)
        return Response(self.get_serializer(deployment).data, status=status.HTTP_201_CREATED)


class ChangeEventView(RawJSONView):
    """PagerDuty Events API v2 change events: a deployment of the integration's service."""

    error_status_label = "invalid event"

    @extend_schema(
        operation_id="change_events_enqueue",
        request=OpenApiTypes.OBJECT,
        responses={
            202: inline_serializer(
                "ChangeEventAccepted", {"status": serializers.CharField(), "message": serializers.CharField()}
            ),
            400: EVENT_ERROR,
            403: EVENT_ERROR,
            413: EVENT_ERROR,
            415: EVENT_ERROR,
        },
        tags=["events"],
        auth=[],
    )
    def post(self, request):
        data = self.read_json(request)
        if not isinstance(data, dict):
            raise EventRejected(400, "Event object is invalid", ["The body must be a JSON object."])
        integration = accepted_key(data.get("routing_key"), Integration.Kind.EVENTS_V2)
        fields = parse_change_event(data)
        deployments.record_deployment(
            service=integration.service, integration=integration, source="change_event", **fields
        )
        return answer({"status": "success", "message": "Change event processed"}, status=status.HTTP_202_ACCEPTED)


def parse_change_event(data):
    """Deployment fields from a PagerDuty change event, or EventRejected naming each bad field."""
    errors = []
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise EventRejected(400, "Event object is invalid", ["'payload' is missing or not an object."])
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank.")
    elif len(summary) > 1024:
        errors.append("'payload.summary' is longer than 1024 characters.")
    at = None
    if payload.get("timestamp") is not None:
        try:
            at = parse_timestamp(payload["timestamp"])
        except ValueError:
            errors.append("'payload.timestamp' is not an ISO 8601 timestamp.")
    details = payload.get("custom_details") or {}
    if not isinstance(details, dict):
        errors.append("'payload.custom_details' must be an object.")
        details = {}
    links = data.get("links") or []
    if not isinstance(links, list) or not all(isinstance(link, dict) for link in links):
        errors.append("'links' must be a list of objects with 'href'.")
        links = []
    url = next((link.get("href") for link in links if isinstance(link.get("href"), str)), "") or ""
    if url and not url.startswith(("http://", "https://")):
        errors.append("'links[].href' must be an http(s) URL.")
    if errors:
        raise EventRejected(400, "Event object is invalid", errors)
    version = details.get("version") or details.get("build") or summary
    return {
        "version": str(version)[:200],
        "environment": str(details.get("environment") or "")[:100],
        "url": url[:1000],
        "actor": str(payload.get("source") or details.get("actor") or "")[:200],
        "at": at,
    }
