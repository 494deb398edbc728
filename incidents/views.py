"""Pages people reach from a message, without logging in: the signed link is the key."""

import logging

from django.contrib.auth import get_user_model
from django.core import signing
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from incidents import lifecycle, responders
from incidents.links import read_action_token, read_respond_token
from incidents.models import AckChannel, Incident, ResponderRequest, Status
from people.models import display_name
from project.api import ConflictError

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


def resolve_respond_token(token):
    """(responder request, None) named by a signed link, or (None, reason)."""
    try:
        request_id, user_id = read_respond_token(token)
    except signing.SignatureExpired:
        return None, _("This link has expired (links work for 24 hours).")
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None, _("This link is not valid.")
    found = (
        ResponderRequest.objects.select_related("incident__service", "user", "requested_by")
        .filter(pk=request_id, user_id=user_id, user__is_active=True)
        .first()
    )
    if found is None:
        return None, _("This link is not valid.")
    return found, None


@csrf_exempt  # the signed token in the URL is the credential, not a session
@require_http_methods(["GET", "POST"])
def respond_link(request, token):
    """A responder request's page: who asks, why, the incident and its bridge; Join and Decline buttons."""
    asked, problem = resolve_respond_token(token)
    if problem:
        return render(request, "incidents/respond_link.html", {"problem": problem}, status=403)
    done = None
    if request.method == "POST":
        answer = responders.join if "join" in request.POST else responders.decline
        if "join" not in request.POST and "decline" not in request.POST:
            done = _("Choose Join or Decline.")
        else:
            try:
                asked = answer(asked, by=asked.user, channel=responders.BY_LINK)
            except ConflictError as exc:
                done = str(exc)
            else:
                if asked.state == ResponderRequest.State.JOINED:
                    done = _("Thank you, %(name)s: you joined the response.") % {"name": display_name(asked.user)}
                else:
                    done = _("Declined. Thank you for answering, %(name)s.") % {"name": display_name(asked.user)}
                logger.info("responder answered by link request=%s state=%s", asked.pk, asked.state)
        asked = ResponderRequest.objects.select_related("incident__service", "user", "requested_by").get(pk=asked.pk)
    return render(
        request,
        "incidents/respond_link.html",
        {"asked": asked, "incident": asked.incident, "person": asked.user, "done": done, "can_answer": asked.is_open},
    )
