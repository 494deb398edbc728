"""The base of JSON endpoints that machines post to: they read the body themselves.

Monitoring tools and pipelines post here in bursts: the view skips DRF's
negotiation, authentication and rendering, enforces the size limit and the
content type, and answers every client error as JSON, never 5xx.
"""

import json
import math
import re

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

MAX_DEPTH = 64  # nesting levels of a body; deeper is refused
_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text):
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text[:20]} is out of range for a number")
    return number


def unstorable(value, depth=0):
    """Why a parsed JSON value cannot be stored (NUL, a lone surrogate, too deep), or None."""
    if depth > MAX_DEPTH:
        return f"The body is nested deeper than {MAX_DEPTH} levels."
    if isinstance(value, str):
        if "\x00" in value:
            return "The body contains a NUL character (\\u0000), which cannot be stored."
        if _SURROGATE.search(value):
            return "The body contains a lone UTF-16 surrogate (\\ud800–\\udfff), which is not text."
        return None
    if isinstance(value, dict):
        items = [item for pair in value.items() for item in pair]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        reason = unstorable(item, depth + 1)
        if reason:
            return reason
    return None


def parse_json(body):
    """Parse a request body as JSON that can be stored as it is; raise ValueError with a sentence saying why not."""
    try:
        data = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(f"The body is nested deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:
        raise ValueError(f"The body is not valid JSON: {exc}.") from None
    reason = unstorable(data)
    if reason:
        raise ValueError(reason)
    return data


class EventRejected(Exception):
    """A request refused with `status_code`, a message and the list of what is wrong."""

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
