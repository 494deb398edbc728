"""Pages people reach from a message, without logging in: the signed link is the key."""

import logging

from django.contrib.auth import get_user_model
from django.core import signing
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from incidents import lifecycle
from incidents.links import read_action_token
from incidents.models import AckChannel, Incident, Status

logger = logging.getLogger(__name__)


def resolve_action_token(token):
    """(incident, user) named by a signed link, or (None, reason)."""
    try:
        incident_id, user_id = read_action_token(token)
    except signing.SignatureExpired:
        return None, None, _("This link has expired (links work for 24 hours).")
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None, None, _("This link is not valid.")
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if incident is None or user is None:
        return None, None, _("This link is not valid.")
    if not user.has_perm("incidents.change_incident"):
        # As for SMS and voice replies: only who may work incidents acknowledges them.
        return None, None, _("You do not have the right to acknowledge incidents.")
    return incident, user, None


@csrf_exempt  # the signed token in the URL is the credential, not a session
@require_http_methods(["GET", "POST"])
def ack_link(request, token):
    incident, user, problem = resolve_action_token(token)
    if problem:
        return render(request, "incidents/ack_link.html", {"problem": problem}, status=403)
    done = None
    if request.method == "POST":
        if incident.status == Status.TRIGGERED:
            incident = lifecycle.acknowledge(incident, by=user, channel=AckChannel.LINK)
            done = _("Acknowledged. Thank you, %(name)s.") % {"name": user.get_full_name() or user.get_username()}
            logger.info("acknowledged by link incident=%s user=%s", incident.number, user.pk)
        else:
            done = _("Nothing to do: the incident is %(status)s.") % {"status": incident.get_status_display()}
    return render(
        request,
        "incidents/ack_link.html",
        {"incident": incident, "person": user, "done": done, "can_ack": incident.status == Status.TRIGGERED},
    )
