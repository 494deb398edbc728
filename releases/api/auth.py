"""Integration keys as credentials for CI: the gate and deployments accept them."""

import re

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from incidents.models import Integration
from people.api.auth import PersonTokenAuthentication
from releases import gate_queries

INTEGRATION_KEY = re.compile(r"^[0-9a-f]{32}$")


class IntegrationPrincipal:
    """`request.user` for a caller holding an integration key: its own service only, no model permissions."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, integration):
        self.integration = integration
        self.service = integration.service

    def __str__(self):
        return str(self.integration)

    def get_username(self):
        return f"integration:{self.integration.name}"

    def has_perm(self, perm, obj=None):
        return False

    def has_perms(self, perms, obj=None):
        return False


class IntegrationKeyAuthentication(authentication.BaseAuthentication):
    """`X-Routing-Key: <key>`, `?routing_key=<key>` or `Authorization: Token <key>` with a 32-character key.

    DRF user tokens are 40 characters long, so `Authorization: Token` stays
    unambiguous: any other token is left to PersonTokenAuthentication.
    """

    def authenticate(self, request):
        key = request.META.get("HTTP_X_ROUTING_KEY") or request.query_params.get("routing_key")
        if not key:
            parts = authentication.get_authorization_header(request).split()
            if len(parts) == 2 and parts[0].lower() == b"token":
                token = parts[1].decode("latin-1")
                if INTEGRATION_KEY.match(token):
                    key = token
        if not key:
            return None
        integration = Integration.objects.select_related("service").filter(key=key).first()
        if integration is None:
            raise exceptions.AuthenticationFailed(_("Unknown integration key."))
        if not integration.enabled:
            raise exceptions.AuthenticationFailed(_("This integration is disabled."))
        return IntegrationPrincipal(integration), integration

    def authenticate_header(self, request):
        return "Token"


AUTHENTICATION = [
    IntegrationKeyAuthentication,
    PersonTokenAuthentication,
    authentication.SessionAuthentication,
]


def integration_of(request):
    user = request.user
    return user.integration if isinstance(user, IntegrationPrincipal) else None


class UserPermOrIntegration(permissions.BasePermission):
    """An integration key, or a user holding `required_perms` (a view attribute)."""

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if isinstance(user, IntegrationPrincipal):
            return True
        return all(holds_permission(user, perm) for perm in getattr(view, "required_perms", []))


def holds_permission(user, perm):
    """`user.has_perm(perm)` for the model backend in one small query, not by loading every permission."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    app_label, codename = perm.split(".", 1)
    return gate_queries.holds_permission(user.pk, app_label, codename)


class IntegrationKeyScheme(OpenApiAuthenticationExtension):
    target_class = IntegrationKeyAuthentication
    name = "integrationKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Routing-Key",
            "description": _(
                "The 32-character key of one of the service's integrations; also accepted as "
                "`Authorization: Token <key>` or `?routing_key=<key>`."
            ),
        }
