"""Counting attempts in a window (Django's cache: set CACHE_URL to a shared Redis with several processes).

`exceeded(scope, key, limit=…, window=…)` counts one attempt and returns how many seconds the caller must
wait once the limit is passed (for a 429 with Retry-After), else None.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.translation import gettext as _


def client_address(request):
    """The caller's address as the server saw it (set SECURE_PROXY_SSL_HEADER and a trusted proxy for real ones)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(scope, key):
    return f"piquet:limit:{scope}:" + hashlib.sha256(str(key).encode()).hexdigest()[:32]


def exceeded(scope, key, *, limit, window):
    """Count an attempt; the seconds to wait when more than `limit` happened within `window` seconds, else None."""
    name = _key(scope, key)
    cache.add(name, 0, timeout=window)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window)
        count = 1
    return window if count > limit else None


def blocked(scope, key, *, limit):
    """Whether `limit` attempts were already counted (without counting one more)."""
    return (cache.get(_key(scope, key)) or 0) >= limit


def locked_out(request, credentials, *args, **kwargs):
    """What django-axes answers once an account or an address failed too often to log in: a 429."""
    wait = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = HttpResponse(
        _("Too many failed logins for this account or from this address. Try again in %(minutes)s minutes.")
        % {"minutes": max(1, wait // 60)},
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(wait)
    return response
