"""HTTP endpoints that monitoring tools post alerts to.

They authenticate with the integration key, answer in the shape each tool
expects, and never answer 5xx for anything a client can send.
"""

import logging

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status

from incidents import heartbeat, ingest, webhook
from incidents.ingest import integration_for
from incidents.models import Integration
from project import ratelimits
from project.rawjson import ERROR_SCHEMA as EVENT_ERROR
from project.rawjson import EventRejected, RawJSONView, answer

logger = logging.getLogger(__name__)


EVENT_RESPONSE = inline_serializer(
    "EventAccepted",
    {"status": serializers.CharField(), "message": serializers.CharField(), "dedup_key": serializers.CharField()},
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
        integration = accepted_key(data.get("routing_key"), Integration.Kind.EVENTS_V2)
        try:
            outcome = ingest.process_event_v2(integration, data)
        except ingest.InvalidEvent as exc:
            raise EventRejected(400, "Event object is invalid", exc.errors) from None
        return answer(
            {"status": "success", "message": "Event processed", "dedup_key": outcome.dedup_key},
            status=status.HTTP_202_ACCEPTED,
        )


def accepted_key(key, kind):
    """The integration of a key, or EventRejected: unknown, disabled, or over its optional per-minute limit."""
    integration = integration_for(key, kind)
    limit = integration.max_events_per_minute
    if limit and (wait := ratelimits.exceeded("ingest", integration.pk, limit=limit, window=60)):
        raise EventRejected(429, f"This integration accepts at most {limit} events a minute.", retry_after=wait)
    return integration


def bearer_key(request):
    """The key of `Authorization: Bearer <key>`, or a 401 saying how to send it."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise EventRejected(
            401,
            "Send the integration key as 'Authorization: Bearer <key>' (http_config.authorization in Alertmanager).",
        )
    return parts[1]


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
            401: EVENT_ERROR,
            404: OpenApiResponse(EVENT_ERROR),
        },
        tags=["events"],
        auth=[],
    )
    def post(self, request, key=None):
        """Alertmanager's notification; the key as `Authorization: Bearer <key>` (preferred: it stays out of
        access logs) or in the URL."""
        if key is None:
            key = bearer_key(request)
        integration = accepted_key(key, Integration.Kind.ALERTMANAGER)
        data = self.read_json(request)
        try:
            outcome = ingest.process_alertmanager(integration, data)
        except ingest.InvalidEvent as exc:
            raise EventRejected(400, "Notification is invalid", exc.errors) from None
        return answer(
            {
                "status": "success",
                "message": "Notification processed",
                "incident": outcome.incident.number if outcome.incident else None,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class WebhookView(RawJSONView):
    """A generic webhook: any JSON object, read with the integration's JMESPath expressions."""

    @extend_schema(
        operation_id="generic_webhook",
        request=OpenApiTypes.OBJECT,
        responses={
            202: inline_serializer(
                "WebhookAccepted",
                {
                    "status": serializers.CharField(),
                    "message": serializers.CharField(),
                    "dedup_key": serializers.CharField(),
                    "incident": serializers.IntegerField(allow_null=True),
                },
            ),
            400: EVENT_ERROR,
            401: EVENT_ERROR,
            403: EVENT_ERROR,
            404: OpenApiResponse(EVENT_ERROR),
            413: EVENT_ERROR,
            415: EVENT_ERROR,
        },
        tags=["events"],
        auth=[],
    )
    def post(self, request, key=None):
        """Any JSON object; the key in the URL or, to keep it out of access logs, as `Authorization: Bearer <key>`."""
        if key is None:
            key = bearer_key(request)
        integration = accepted_key(key, Integration.Kind.WEBHOOK)
        data = self.read_json(request)
        try:
            outcome = webhook.process_webhook(integration, data)
        except ingest.InvalidEvent as exc:
            raise EventRejected(400, gettext("The body is invalid."), exc.errors) from None
        return answer(
            {
                "status": "success",
                "message": "Event processed",
                "dedup_key": outcome.dedup_key,
                "incident": outcome.incident.number if outcome.incident else None,
            },
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema_view(post=extend_schema(operation_id="events_create", tags=["events"]))
class EventsAliasView(EventsV2View):
    """The Events API v2 under the API prefix (same contract as /v2/enqueue)."""


@extend_schema_view(post=extend_schema(operation_id="alertmanager_webhook_bearer"))
class AlertmanagerBearerView(AlertmanagerView):
    """Prometheus Alertmanager webhook receiver, the key in `Authorization: Bearer <key>` (preferred)."""


HEARTBEAT_RESPONSES = {
    200: inline_serializer(
        "HeartbeatRecorded",
        {
            "status": serializers.CharField(),
            "message": serializers.CharField(),
            "next_expected_before": serializers.DateTimeField(),
        },
    ),
    400: EVENT_ERROR,
    403: EVENT_ERROR,
    404: OpenApiResponse(EVENT_ERROR),
    429: EVENT_ERROR,
}


class HeartbeatView(RawJSONView):
    """A heartbeat's ping: a job calls it every period; silence longer than period + grace opens an incident."""

    allowed_methods = ("GET", "POST")

    @extend_schema(operation_id="heartbeat_ping", request=None, responses=HEARTBEAT_RESPONSES, tags=["events"], auth=[])
    def post(self, request, key):
        """Record a ping (GET works too, for the simplest cron line); a body, if any, is ignored."""
        integration = accepted_key(key, Integration.Kind.HEARTBEAT)
        due = heartbeat.ping(integration)
        return answer({"status": "success", "message": "Ping recorded", "next_expected_before": due.isoformat()})

    @extend_schema(
        operation_id="heartbeat_ping_get", request=None, responses=HEARTBEAT_RESPONSES, tags=["events"], auth=[]
    )
    def get(self, request, key):
        """Record a ping, as POST does."""
        return self.post(request, key)


@extend_schema_view(post=extend_schema(operation_id="generic_webhook_bearer"))
class WebhookBearerView(WebhookView):
    """A generic webhook, the key in `Authorization: Bearer <key>`."""
