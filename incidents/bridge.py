"""The incident's conference bridge: where responders meet (a call link, a dial-in number)."""

import logging
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents import timeline
from incidents.models import Incident
from project.text import one_line

logger = logging.getLogger(__name__)

MAX_URL = 500
MAX_PHONE = 200
_URL = URLValidator(schemes=["http", "https"])


def clean_url(url):
    """The bridge link as stored ("" for none), or ValueError saying what is wrong."""
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > MAX_URL:
        raise ValueError(_("The bridge link is longer than %(max)s characters.") % {"max": MAX_URL})
    try:
        _URL(url)
    except ValidationError:
        raise ValueError(_("Give the bridge as an http or https link, e.g. https://meet.example.com/room.")) from None
    if urlsplit(url).scheme.lower() not in ("http", "https") or one_line(url, MAX_URL) != url:
        raise ValueError(_("Give the bridge as an http or https link, e.g. https://meet.example.com/room."))
    return url


def clean_phone(phone):
    """The dial-in text as stored: one line, MAX_PHONE characters at most (else ValueError)."""
    phone = one_line(phone or "", 10 * MAX_PHONE).strip()
    if len(phone) > MAX_PHONE:
        raise ValueError(_("The bridge phone is longer than %(max)s characters.") % {"max": MAX_PHONE})
    return phone


def set_bridge(incident, *, url, phone, by=None, actor_name=""):
    """Set (or clear, with empty values) the incident's conference bridge; on the timeline. Raises ValueError
    for a link that is not http(s) or values too long. Setting the same bridge again changes nothing."""
    url, phone = clean_url(url), clean_phone(phone)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if (incident.bridge_url, incident.bridge_phone) == (url, phone):
            return incident
        incident.bridge_url, incident.bridge_phone = url, phone
        incident.save(update_fields=["bridge_url", "bridge_phone"])
        if url or phone:
            message = gettext_noop("Conference bridge: %(bridge)s")
            params = {"bridge": bridge_text(incident)}
        else:
            message, params = gettext_noop("The conference bridge was removed."), {}
        timeline.record(
            incident,
            timeline.Kind.BRIDGE,
            message,
            params=params,
            by=by,
            actor_name=actor_name,
            data={"url": url, "phone": phone},
        )
    logger.info("incident bridge number=%s set=%s", incident.number, bool(url or phone))
    return incident


def bridge_text(incident):
    """The bridge in one line: its link and its dial-in, whichever it has ("" for none)."""
    return " · ".join(part for part in (incident.bridge_url, incident.bridge_phone) if part)
