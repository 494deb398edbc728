"""Where Piquet may send: outbound URLs that resolve to loopback, private, link-local or metadata
addresses are refused (server-side request forgery), unless PIQUET_OUTBOUND_ALLOWED_NETWORKS lists them.

Checked when an address is saved and again before each send, since DNS can change in between.
"""

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

# Apprise schemes that talk to a host the URL names (the others talk to their provider's fixed host).
HOST_SCHEMES = {"http", "https", "json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos"}


@lru_cache(maxsize=8)
def _allowed(spec):
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def allowed_networks():
    spec = getattr(settings, "PIQUET_OUTBOUND_ALLOWED_NETWORKS", "")
    return _allowed(",".join(spec) if isinstance(spec, list | tuple) else spec)


def _is_internal(ip):
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or (ip.version == 6 and ip.ipv4_mapped is not None and _is_internal(ip.ipv4_mapped))
    )


def refusal(url):
    """Why Piquet will not send to `url` (a sentence), or None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return _("This is not a valid URL.")
    if parts.scheme.lower() not in HOST_SCHEMES:
        return None
    if not host:
        return _("The URL names no host.")
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return None  # nothing to refuse yet: the send itself will fail, and it is checked again then
    allowed = allowed_networks()
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if _is_internal(ip) and not any(ip in network for network in allowed):
            return _(
                "%(host)s resolves to %(ip)s, an internal address: Piquet does not send there unless "
                "PIQUET_OUTBOUND_ALLOWED_NETWORKS allows it."
            ) % {"host": host, "ip": ip}
    return None
