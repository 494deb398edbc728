"""HTTP endpoints that monitoring tools post alerts to.

They authenticate with the integration key, answer in the shape each tool
expects, and never answer 5xx for anything a client can send.
"""

import json
import logging

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import ingest
from incidents.models import Integration

logger = logging.getLogger(__name__)


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _contains_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


class EventRejected(Exception):
    def __init__(self, status_code, message, errors=None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.errors = errors or [message]


class RawJSONView(APIView):
    """Reads the body itself: size limit, content type and JSON errors as JSON answers.

    Monitoring tools post here in bursts, so the request skips DRF's
    negotiation, authentication and rendering (the integration key is the
    credential): a handler gets Django's request and its Response is written
    as plain JSON. DRF still describes these views in the OpenAPI schema.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = []
    error_status_label = "invalid event"

    def error(self, status_code, message, errors=None):
        return JsonResponse(
            {"status": self.error_status_label, "message": message, "errors": errors or [message]},
            status=status_code,
        )

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs, self.request, self.headers = args, kwargs, request, {}
        if request.method != "POST":
            response = self.error(405, f"Method {request.method} is not allowed; use POST.")
            response["Allow"] = "POST"
            return response
        try:
            result = self.post(request, *args, **kwargs)
        except EventRejected as exc:
            return self.error(exc.status_code, exc.message, exc.errors)
        if isinstance(result, Response):
            return JsonResponse(result.data, status=result.status_code)
        return result

    def read_json(self, request):
        limit = settings.PIQUET_MAX_EVENT_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise EventRejected(413, f"The body is larger than {limit // 1024} KB.")
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "") and not content_type.endswith("+json"):
            raise EventRejected(415, f"Content type {content_type!r} is not supported; send application/json.")
        body = request.read(limit + 1)
        if len(body) > limit:
            raise EventRejected(413, f"The body is larger than {limit // 1024} KB.")
        try:
            data = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise EventRejected(400, f"The body is not valid JSON: {exc}.") from None
        if b"u0000" in body and _contains_nul(data):
            raise EventRejected(400, "The body contains a NUL character (\\u0000), which cannot be stored.")
        return data

    def integration_for(self, key, kind):
        integration = Integration.by_key(key) if isinstance(key, str) and key else None
        if integration is None:
            raise EventRejected(404 if kind == Integration.Kind.ALERTMANAGER else 400, "Unknown integration key.")
        if integration.kind != kind:
            raise EventRejected(
                400,
                f"This key belongs to an integration of kind {integration.kind!r}; send its events to "
                f"{integration.url}",
            )
        if not integration.enabled:
            raise EventRejected(403, "This integration is disabled.")
        return integration


EVENT_RESPONSE = inline_serializer(
    "EventAccepted",
    {"status": serializers.CharField(), "message": serializers.CharField(), "dedup_key": serializers.CharField()},
)
EVENT_ERROR = inline_serializer(
    "EventError",
    {
        "status": serializers.CharField(),
        "message": serializers.CharField(),
        "errors": serializers.ListField(child=serializers.CharField()),
    },
)


class EventsV2View(RawJSONView):
    """PagerDuty Events API v2: trigger, acknowledge or resolve an alert."""

    @extend_schema(
        operation_id="events_v2_enqueue",
        request=OpenApiTypes.OBJECT,
        responses={
            202: EVENT_RESPONSE,
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
        integration = self.integration_for(data.get("routing_key"), Integration.Kind.EVENTS_V2)
        try:
            outcome = ingest.process_event_v2(integration, data)
        except ingest.InvalidEvent as exc:
            raise EventRejected(400, "Event object is invalid", exc.errors) from None
        return Response(
            {"status": "success", "message": "Event processed", "dedup_key": outcome.dedup_key},
            status=status.HTTP_202_ACCEPTED,
        )


class AlertmanagerView(RawJSONView):
    """Prometheus Alertmanager webhook receiver (payload version 4)."""

    @extend_schema(
        operation_id="alertmanager_webhook",
        request=OpenApiTypes.OBJECT,
        responses={
            202: inline_serializer(
                "AlertmanagerAccepted",
                {
                    "status": serializers.CharField(),
                    "message": serializers.CharField(),
                    "incident": serializers.IntegerField(allow_null=True),
                },
            ),
            400: EVENT_ERROR,
            403: EVENT_ERROR,
            404: OpenApiResponse(EVENT_ERROR),
        },
        tags=["events"],
        auth=[],
    )
    def post(self, request, key):
        integration = self.integration_for(key, Integration.Kind.ALERTMANAGER)
        data = self.read_json(request)
        try:
            outcome = ingest.process_alertmanager(integration, data)
        except ingest.InvalidEvent as exc:
            raise EventRejected(400, "Notification is invalid", exc.errors) from None
        return Response(
            {
                "status": "success",
                "message": "Notification processed",
                "incident": outcome.incident.number if outcome.incident else None,
            },
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema_view(post=extend_schema(operation_id="events_create", tags=["events"]))
class EventsAliasView(EventsV2View):
    """The Events API v2 under the API prefix (same contract as /v2/enqueue)."""
