"""Single sign-on with OpenID Connect: who a person becomes, and their roles and teams, from the provider's claims.

mozilla-django-oidc runs the authorization-code flow (state and nonce checked); this module reads the
provider's endpoints from its discovery document (project/sso.py) rather than from settings, so that a
provider that is down at start-up stops nothing but SSO.

On every sign-in a person's roles and teams follow their provider groups through `PIQUET_OIDC_GROUP_MAP`:
a role or a team the map names is held exactly when one of the person's groups grants it; roles and teams
the map does not name are left as they are. A person who ends up with no role is not let in.
"""

import logging

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from people.models import Team, TeamMembership
from project import sso
from project.roles import ROLE_NAMES

logger = logging.getLogger(__name__)

MAX_GROUPS = 1000
USERNAME_MAX_LENGTH = 150


def groups_from_claims(claims):
    """The provider groups named in the claims (a list, or one string), bounded and as strings."""
    value = claims.get(settings.PIQUET_OIDC_GROUPS_CLAIM) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return set()
    return {group for group in value[:MAX_GROUPS] if isinstance(group, str)}


def grants_for(groups, group_map):
    """What the groups give, as (roles, {team slug: membership role}); a team manager grant beats a member one."""
    roles, teams = set(), {}
    for group in groups:
        for grant in group_map.get(group, ()):
            if grant.kind == sso.ROLE:
                roles.add(grant.target)
            elif grant.kind == sso.TEAM_MANAGER:
                teams[grant.target] = TeamMembership.Role.MANAGER
            else:
                teams.setdefault(grant.target, TeamMembership.Role.MEMBER)
    return roles, teams


def managed_by(group_map):
    """The roles and the team slugs that the map decides."""
    grants = [grant for granted in group_map.values() for grant in granted]
    roles = {grant.target for grant in grants if grant.kind == sso.ROLE}
    teams = {grant.target for grant in grants if grant.kind in (sso.TEAM, sso.TEAM_MANAGER)}
    return roles, teams


def sync_from_groups(user, *, groups, group_map):
    """Give a person exactly the roles and team memberships their groups map to (of those the map manages);
    admin access follows from holding a role."""
    roles, teams = grants_for(groups, group_map)
    managed_roles, managed_teams = managed_by(group_map)
    with transaction.atomic():
        held = set(user.groups.filter(name__in=managed_roles).values_list("name", flat=True))
        if held - roles:
            user.groups.remove(*Group.objects.filter(name__in=held - roles))
        if roles - held:
            user.groups.add(*Group.objects.filter(name__in=roles - held))

        found = {team.slug: team for team in Team.objects.filter(slug__in=teams)}
        for slug in sorted(set(teams) - set(found)):
            logger.warning("PIQUET_OIDC_GROUP_MAP names the team %r, which does not exist: create it.", slug)
        dropped = TeamMembership.objects.filter(user=user, team__slug__in=managed_teams)
        dropped.exclude(team__slug__in=list(found)).delete()
        for slug, team in found.items():
            TeamMembership.objects.update_or_create(team=team, user=user, defaults={"role": teams[slug]})

        staff = user.is_superuser or user.groups.filter(name__in=ROLE_NAMES).exists()
        if user.is_staff != staff:
            user.is_staff = staff
            user.save(update_fields=["is_staff"])
    return user


class OIDCBackend(OIDCAuthenticationBackend):
    """Signs in the person the provider vouches for, at its callback only; silent while SSO is not set up."""

    def __init__(self, *args, **kwargs):
        # The library reads the endpoints here; Piquet reads them when a callback comes (properties below),
        # so that building the backend for a password login never touches the provider.
        self.UserModel = get_user_model()
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # the library's names
        return sso.discover()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self):
        return sso.discover()["userinfo_endpoint"]

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):
        return sso.discover()["jwks_uri"]

    @property
    def OIDC_RP_SIGN_ALGO(self):
        return sso.signing_algorithm(sso.discover())

    @property
    def OIDC_RP_CLIENT_ID(self):
        return settings.PIQUET_OIDC_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self):
        return settings.PIQUET_OIDC_CLIENT_SECRET

    def authenticate(self, request, **kwargs):
        if request is None or not sso.is_configured() or "code" not in request.GET:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (sso.DiscoveryError, requests.RequestException) as exc:
            # The class and the status only: a token endpoint's answer is not for the logs.
            status = getattr(getattr(exc, "response", None), "status_code", None)
            logger.warning("Single sign-on failed talking to the provider: %s (status %s)", type(exc).__name__, status)
            messages.error(request, _("Single sign-on failed: the identity provider could not be reached."))
            return None

    def verify_token(self, token, **kwargs):
        # The library checks the signature and the nonce; an ID token must also come from our issuer and be
        # meant for Piquet (a token the provider made for another of its clients signs nobody in here).
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        if settings.PIQUET_OIDC_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token is not meant for this client.")
        if str(payload.get("iss", "")).rstrip("/") != settings.PIQUET_OIDC_ISSUER.rstrip("/"):
            raise SuspiciousOperation("The ID token comes from another issuer.")
        return payload

    def get_username(self, claims):
        return (claims.get("preferred_username") or claims.get("email") or "").strip()

    def verify_claims(self, claims):
        username = self.get_username(claims)
        return bool(username) and len(username) <= USERNAME_MAX_LENGTH

    def describe_user_by_claims(self, claims):
        return f"username {self.get_username(claims)}"

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(username=self.get_username(claims))

    def create_user(self, claims):
        user = self.UserModel(username=self.get_username(claims))
        user.set_unusable_password()
        self._copy_claims(user, claims)
        user.save()
        return sync_from_groups(user, groups=groups_from_claims(claims), group_map=settings.PIQUET_OIDC_GROUP_MAP)

    def update_user(self, user, claims):
        changed = self._copy_claims(user, claims)
        if changed:
            user.save(update_fields=changed)
        return sync_from_groups(user, groups=groups_from_claims(claims), group_map=settings.PIQUET_OIDC_GROUP_MAP)

    @staticmethod
    def _copy_claims(user, claims):
        """Take e-mail and name from the claims (cut to the fields' lengths); the names of fields changed."""
        changed = []
        for field, claim in (("email", "email"), ("first_name", "given_name"), ("last_name", "family_name")):
            value = claims.get(claim)
            limit = user._meta.get_field(field).max_length
            if isinstance(value, str) and getattr(user, field) != value[:limit]:
                setattr(user, field, value[:limit])
                changed.append(field)
        return changed

    def get_or_create_user(self, access_token, id_token, payload):
        user = super().get_or_create_user(access_token, id_token, payload)
        if user is None:
            return None
        if not user.is_active:
            messages.error(self.request, _("Your Piquet account is deactivated: ask a Piquet manager."))
            return None
        if user.is_staff:
            return user
        messages.error(
            self.request,
            _(
                "Your account has no role in Piquet: none of your groups at the identity provider gives one. "
                "Ask a Piquet manager or your identity provider's administrator."
            ),
        )
        return None


class SignInView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider's authorization endpoint, or back to the login page saying why not."""

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)

    def get(self, request):
        if not sso.is_configured():
            messages.error(request, _("Single sign-on is not configured here."))
            return redirect("admin:login")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = sso.discover()["authorization_endpoint"]
        except sso.DiscoveryError:
            messages.error(request, _("Single sign-on failed: the identity provider could not be reached."))
            return redirect("admin:login")
        self.OIDC_RP_CLIENT_ID = settings.PIQUET_OIDC_CLIENT_ID
        return super().get(request)
