"""Single sign-on settings: the group map read from the environment, and the provider's discovery document.

Piquet's side of the sign-in (who a person becomes, their roles and teams) is in `people/sso.py`; this module
holds what the settings, the admin login page and the logout need, without knowing about people.
"""

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from project.roles import ROLE_NAMES

logger = logging.getLogger(__name__)

ROLE = "role"
TEAM = "team"
TEAM_MANAGER = "team-manager"
TARGET_KINDS = (ROLE, TEAM, TEAM_MANAGER)

# How long a fetched discovery document is trusted, and how long a failure is remembered before trying again
# (so that a provider that is down does not slow every login page by the timeout).
DISCOVERY_TTL = 3600
DISCOVERY_RETRY_AFTER = 60
DISCOVERY_TIMEOUT = 5


@dataclass(frozen=True)
class Grant:
    """What one provider group gives: a role (a Django group), or a team membership as member or manager."""

    kind: str
    target: str


def parse_group_map(text):
    """Parse `PIQUET_OIDC_GROUP_MAP` (`sre=team:sre,oncall-admins=role:Managers`) into {group: [Grant, …]}.

    A group may appear more than once (`sre=team:sre,sre=role:Responders`). Anything else is refused with a
    sentence that says what is wrong, so that Piquet does not start with a map that grants the wrong thing.
    """
    mapping = {}
    for raw in (text or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        group, equals, target = (part.strip() for part in entry.partition("="))
        kind, colon, name = (part.strip() for part in target.partition(":"))
        if not equals or not group or not colon or not name:
            raise ImproperlyConfigured(
                f"PIQUET_OIDC_GROUP_MAP: {entry!r} is not of the form group=role:Name, group=team:slug or "
                "group=team-manager:slug."
            )
        if kind not in TARGET_KINDS:
            raise ImproperlyConfigured(
                f"PIQUET_OIDC_GROUP_MAP: {entry!r} grants {kind!r}, which is none of role, team or team-manager."
            )
        if kind == ROLE and name not in ROLE_NAMES:
            raise ImproperlyConfigured(
                f"PIQUET_OIDC_GROUP_MAP: {entry!r} names the role {name!r}, which is not one of "
                f"{', '.join(ROLE_NAMES)}."
            )
        grant = Grant(kind, name)
        if grant not in mapping.setdefault(group, []):
            mapping[group].append(grant)
    return mapping


def is_configured():
    return bool(settings.PIQUET_OIDC_ISSUER and settings.PIQUET_OIDC_CLIENT_ID)


class DiscoveryError(Exception):
    """The provider's discovery document could not be fetched or lacks an endpoint Piquet needs."""


REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")

_cache = {}
_lock = threading.Lock()


def discovery_url(issuer):
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def _fetch(issuer):
    url = discovery_url(issuer)
    try:
        response = requests.get(url, timeout=DISCOVERY_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        # The exception names the URL and the status, never the client secret (which is not sent here).
        raise DiscoveryError(f"could not read {url}: {exc.__class__.__name__}: {exc}") from exc
    if not isinstance(document, dict):
        raise DiscoveryError(f"{url} did not answer a JSON object")
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        # OpenID Connect Discovery: a document naming another issuer is not this provider's.
        raise DiscoveryError(f"{url} names the issuer {document.get('issuer')!r}, not {issuer!r}")
    missing = [key for key in REQUIRED_ENDPOINTS if not isinstance(document.get(key), str)]
    if missing:
        raise DiscoveryError(f"{url} does not name {', '.join(missing)}")
    return document


def discover(issuer=None):
    """The provider's discovery document, fetched once and cached; DiscoveryError if it cannot be had now."""
    issuer = issuer or settings.PIQUET_OIDC_ISSUER
    if not issuer:
        raise DiscoveryError("PIQUET_OIDC_ISSUER is not set")
    now = time.monotonic()
    with _lock:
        cached = _cache.get(issuer)
        if cached and cached[0] > now:
            if isinstance(cached[1], DiscoveryError):
                raise cached[1]
            return cached[1]
    try:
        document = _fetch(issuer)
    except DiscoveryError as exc:
        logger.warning("Single sign-on is unavailable: %s", exc)
        with _lock:
            _cache[issuer] = (now + DISCOVERY_RETRY_AFTER, exc)
        raise
    with _lock:
        _cache[issuer] = (now + DISCOVERY_TTL, document)
    return document


def forget_discovery():
    """Drop the cached documents (tests, or after the provider changed its keys)."""
    with _lock:
        _cache.clear()


def signing_algorithm(document):
    """The ID token signing algorithm to expect: RS256 when the provider offers it, else the first it offers."""
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    return "RS256" if "RS256" in offered else offered[0]


def sso_status():
    """For the login page: (SSO is configured, the reason it cannot be used now or "")."""
    if not is_configured():
        return False, ""
    try:
        discover()
    except DiscoveryError:
        return True, "unavailable"
    return True, ""


def provider_logout_url(request):
    """Where to send a person signing out: the provider's end-session endpoint when it has one, so that the
    provider's session ends too; else Piquet's login page. (`OIDC_OP_LOGOUT_URL_METHOD`.)

    Read before the Piquet session ends: the ID token kept in it is the hint the provider asks for."""
    login_url = request.build_absolute_uri(reverse("admin:login"))
    id_token = request.session.get("oidc_id_token")
    if not id_token or not is_configured():
        return login_url
    try:
        endpoint = discover().get("end_session_endpoint")
    except DiscoveryError:
        return login_url
    if not endpoint:
        return login_url
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": login_url,
        "client_id": settings.PIQUET_OIDC_CLIENT_ID,
    }
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(params)
