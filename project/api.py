"""API conventions shared by every app: permissions, pagination, errors."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination, permissions, status
from rest_framework.response import Response

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
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    return drf_exception_handler(exc, context)
