"""The base of JSON endpoints that machines post to: they read the body themselves.

Monitoring tools and pipelines post here in bursts: the view skips DRF's
negotiation, authentication and rendering, enforces the size limit and the
content type, and answers every client error as JSON, never 5xx.
"""

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from project.jsonbody import parse_json


class EventRejected(Exception):
    """A request refused with `status_code`, a message and the list of what is wrong."""

    def __init__(self, status_code, message, errors=None, retry_after=None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.errors = errors or [message]
        self.retry_after = retry_after


def answer(data, status=200):
    """A RawJSONView handler's answer: plain JSON, without DRF's Response and its rendering."""
    return JsonResponse(data, status=status)


class RawJSONView(APIView):
    """Reads the body itself: size limit, content type and JSON errors as JSON answers.

    Monitoring tools post here in bursts, so the request skips DRF's
    negotiation, authentication and rendering (the integration key is the
    credential): a handler gets Django's request and returns `answer(…)`,
    plain JSON. DRF still describes these views in the OpenAPI schema.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = []
    error_status_label = "invalid event"
    allowed_methods = ("POST",)

    def error(self, status_code, message, errors=None):
        return JsonResponse(
            {"status": self.error_status_label, "message": message, "errors": errors or [message]},
            status=status_code,
        )

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs, self.request, self.headers = args, kwargs, request, {}
        if request.method not in self.allowed_methods:
            allowed = " or ".join(self.allowed_methods)
            response = self.error(405, f"Method {request.method} is not allowed; use {allowed}.")
            response["Allow"] = ", ".join(self.allowed_methods)
            return response
        try:
            result = getattr(self, request.method.lower())(request, *args, **kwargs)
        except EventRejected as exc:
            response = self.error(exc.status_code, exc.message, exc.errors)
            if exc.retry_after:
                response["Retry-After"] = str(exc.retry_after)
            return response
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
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not declared and chunked and request.META.get("wsgi.input_terminated"):
            # A chunked body has no Content-Length: Django reads it as empty; the server has de-chunked it.
            body = request.META["wsgi.input"].read(limit + 1)
        else:
            body = request.read(limit + 1)
        if len(body) > limit:
            raise EventRejected(413, f"The body is larger than {limit // 1024} KB.")
        try:
            data = parse_json(body)
        except ValueError as exc:
            raise EventRejected(400, str(exc)) from None
        return data


ERROR_SCHEMA = inline_serializer(
    "EventError",
    {
        "status": serializers.CharField(),
        "message": serializers.CharField(),
        "errors": serializers.ListField(child=serializers.CharField()),
    },
)
