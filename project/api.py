"""API conventions shared by every app: permissions, pagination, errors."""

import logging
from datetime import UTC

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, pagination, parsers, permissions, status
from rest_framework.response import Response

from project import audit, clock, ratelimits
from project.jsonbody import parse_json

logger = logging.getLogger(__name__)


class ConflictError(Exception):
    """A state change that the current state does not allow (HTTP 409)."""


class RolePermissions(permissions.DjangoModelPermissions):
    """Model permissions that also guard reads (the `view_` permission).

    A view may name the permissions of an action in `action_permissions`,
    e.g. `{"acknowledge": ["incidents.change_incident"]}`.
    """

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        action_perms = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if action_perms is not None:
            return request.user.has_perms(action_perms)
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return True
        return super().has_permission(request, view)


MAX_ID = 2**63 - 1  # the largest primary key the databases store


def as_id(value):
    """`value` as a primary key if it is one (digits, in range), else None."""
    if isinstance(value, str) and value.isdigit() and int(value) <= MAX_ID:
        return int(value)
    return None


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc, context):
    """DRF's handler, plus 409 for lifecycle conflicts and 400 for model validation."""
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, ConflictError):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ProtectedError | RestrictedError):
        related = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
        names = ", ".join(sorted({str(obj._meta.verbose_name_plural) for obj in related}))
        return Response({"detail": f"It cannot be deleted while it has {names}."}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    return drf_exception_handler(exc, context)


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "too_large"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the limits of every body Piquet reads: size, nesting, finite numbers, storable text."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise BodyTooLarge(f"The body is larger than {limit // 1024} KB.")
        try:
            return parse_json(body)
        except ValueError as exc:
            raise exceptions.ParseError(str(exc)) from None


def query_instant(request, name, default=None):
    """An aware datetime from the query string, or a 400 naming the parameter."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        parsed = parse_datetime(raw.strip().replace(" ", "+"))
    except ValueError:
        parsed = None
    if parsed is None:
        raise exceptions.ValidationError({name: [_("Not an ISO 8601 date and time, e.g. 2025-03-30T08:00:00Z.")]})
    if parsed.tzinfo is None:
        raise exceptions.ValidationError({name: [_("Include a time zone, e.g. 2025-03-30T08:00:00Z or +01:00.")]})
    if not clock.in_range(parsed):
        raise exceptions.ValidationError(
            {
                name: [
                    _("Give an instant between the years %(low)s and %(high)s.")
                    % {"low": clock.MIN_YEAR, "high": clock.MAX_YEAR}
                ]
            }
        )
    return parsed.astimezone(UTC)


TOKEN_FAILURES = 10  # wrong tokens from one address within TOKEN_WINDOW before it must wait
TOKEN_WINDOW = 600  # seconds


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's tokens, and guessing them is slow: an address that sent TOKEN_FAILURES wrong tokens within
    TOKEN_WINDOW seconds gets 429 (with Retry-After) until the window has passed."""

    def authenticate(self, request):
        address = ratelimits.client_address(request)
        if ratelimits.blocked("token", address, limit=TOKEN_FAILURES):
            raise exceptions.Throttled(wait=TOKEN_WINDOW)
        try:
            found = super().authenticate(request)
        except exceptions.AuthenticationFailed:
            ratelimits.exceeded("token", address, limit=TOKEN_FAILURES, window=TOKEN_WINDOW)
            raise
        if found is not None:
            audit.act_as(found[0])
        return found
