"""Twilio webhooks: acknowledge (or join, decline a responder request) by replying to an SMS/WhatsApp, or by a
key press in a call.

Every request must carry a valid `X-Twilio-Signature` for our auth token and
the public URL Twilio called (PIQUET_BASE_URL + path).
"""

import logging
import re
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from incidents import lifecycle, responders
from incidents.bridge import bridge_text
from incidents.models import AckChannel, Incident
from incidents.views import resolve_action_token, resolve_respond_token
from people.models import ContactMethod, display_name, person_language
from project.api import ConflictError

logger = logging.getLogger(__name__)

COMMAND = re.compile(r"^\s*(ACK|RES|ESC|JOIN|DECL)\w*\s*#?(\d+)\s*$", re.IGNORECASE)


def twiml(body, status=200):
    return HttpResponse(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
        status=status,
        content_type="application/xml",
    )


def _signature_ok(request):
    from twilio.request_validator import RequestValidator

    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    url = settings.PIQUET_BASE_URL + request.get_full_path()
    params = request.POST.dict() if request.method == "POST" else {}
    return RequestValidator(token).validate(url, params, signature)


def _refused():
    logger.warning("twilio webhook refused: bad or missing signature")
    return twiml("", status=403)


def _person_for(number):
    number = number.removeprefix("whatsapp:")
    method = (
        ContactMethod.objects.filter(address=number, kind__in=ContactMethod.PHONE_KINDS, enabled=True)
        .select_related("user")
        .first()
    )
    return method.user if method else None


def _act(verb, incident, user, *, channel):
    """Apply ACK/RES/ESC for a person (an acknowledgement records `channel`); return the reply text."""
    if not user.has_perm("incidents.change_incident"):
        return _("You may not change incidents.")
    try:
        if verb == "ACK":
            lifecycle.acknowledge(incident, by=user, channel=channel)
            done = _("#%(number)s acknowledged.") % {"number": incident.number}
            return _and_where_to_meet(done, incident, spoken=channel == AckChannel.VOICE)
        if verb == "RES":
            lifecycle.resolve(incident, by=user)
            return _("#%(number)s resolved.") % {"number": incident.number}
        lifecycle.escalate(incident, by=user)
        return _("#%(number)s escalated.") % {"number": incident.number}
    except lifecycle.TransitionError as exc:
        return str(exc)


def _and_where_to_meet(reply, incident, *, spoken):
    """The reply to someone who takes the incident on, then the conference bridge: on a call only its dial-in
    (a link read aloud helps nobody), in a message its link and dial-in."""
    if spoken:
        where = _("Dial in: %(phone)s") % {"phone": incident.bridge_phone} if incident.bridge_phone else ""
    else:
        bridge = bridge_text(incident)
        where = _("Conference bridge: %(bridge)s") % {"bridge": bridge} if bridge else ""
    return f"{reply} {where}" if where else reply


def _answer(joining, asked, user, incident, *, channel=responders.BY_SMS):
    """Join or decline the person's open responder request on the incident; return the reply text."""
    if asked is None:
        return _("Nobody asked you to join #%(number)s, or you answered already.") % {"number": incident.number}
    try:
        (responders.join if joining else responders.decline)(asked, by=user, channel=channel)
    except ConflictError as exc:
        return str(exc)
    if joining:
        joined = _("You joined the response to #%(number)s.") % {"number": incident.number}
        return _and_where_to_meet(joined, incident, spoken=channel == responders.BY_VOICE)
    return _("You declined to join #%(number)s.") % {"number": incident.number}


@csrf_exempt
@require_http_methods(["POST"])
def inbound_message(request):
    """An SMS or WhatsApp reply: "ACK 42", "RES 42" (or "ESC 42")."""
    if not _signature_ok(request):
        return _refused()
    user = _person_for(request.POST.get("From", ""))
    if user is None:
        unknown = _("This number is not known to Piquet.")  # outside the f-string, so makemessages finds it
        return twiml(f"<Message>{escape(unknown)}</Message>")
    with translation.override(person_language(user)):
        match = COMMAND.match(request.POST.get("Body", ""))
        if not match:
            reply = _(
                "Reply ACK <number> to acknowledge or RES <number> to resolve; JOIN <number> or DECLINE <number> "
                "to answer a request to help."
            )
        else:
            incident = Incident.objects.filter(number=int(match[2])).first()
            if incident is None:
                reply = _("There is no incident #%(number)s.") % {"number": match[2]}
            elif match[1].upper() in ("JOIN", "DECL"):
                reply = _answer(match[1].upper() == "JOIN", responders.open_request(incident, user), user, incident)
            else:
                reply = _act(match[1].upper()[:3], incident, user, channel=AckChannel.SMS)
        logger.info("twilio inbound user=%s body=%r", user.pk, request.POST.get("Body", "")[:40])
        return twiml(f"<Message>{escape(reply)}</Message>")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def voice(request, token):
    """The TwiML of a paging call: press 1 to acknowledge, 2 to escalate."""
    if not _signature_ok(request):
        return _refused()
    incident, user, problem = resolve_action_token(token)
    if problem:
        return twiml(f"<Say>{escape(problem)}</Say><Hangup/>")
    with translation.override(person_language(user)):
        digits = request.POST.get("Digits", "")
        if digits in ("1", "2"):
            reply = _act("ACK" if digits == "1" else "ESC", incident, user, channel=AckChannel.VOICE)
            return twiml(f"<Say>{escape(reply)}</Say><Hangup/>")
        prompt = _(
            "Piquet incident %(number)s, %(severity)s on %(service)s: %(title)s. Press 1 to acknowledge, 2 to escalate."
        ) % {
            "number": incident.number,
            "severity": incident.severity,
            "service": incident.service.name,
            "title": incident.title,
        }
        action = escape(settings.PIQUET_BASE_URL + request.path, {'"': "&quot;"})
        goodbye = _("No key pressed. Goodbye.")
        return twiml(
            f'<Gather numDigits="1" action="{action}" method="POST"><Say>{escape(prompt)}</Say></Gather>'
            f"<Say>{escape(goodbye)}</Say>"
        )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def respond_voice(request, token):
    """The TwiML of a responder request call: press 1 to join, 2 to decline."""
    if not _signature_ok(request):
        return _refused()
    asked, problem = resolve_respond_token(token)
    if problem:
        return twiml(f"<Say>{escape(problem)}</Say><Hangup/>")
    incident, user = asked.incident, asked.user
    with translation.override(person_language(user)):
        digits = request.POST.get("Digits", "")
        if digits in ("1", "2"):
            still_open = asked if asked.is_open else None
            reply = _answer(digits == "1", still_open, user, incident, channel=responders.BY_VOICE)
            return twiml(f"<Say>{escape(reply)}</Say><Hangup/>")
        who = display_name(asked.requested_by) if asked.requested_by else "Piquet"
        prompt = _(
            "Piquet: %(who)s asks you to join the response to incident %(number)s, %(severity)s on %(service)s: "
            "%(title)s. %(message)s Press 1 to join, 2 to decline."
        ) % {
            "who": who,
            "number": incident.number,
            "severity": incident.severity,
            "service": incident.service.name,
            "title": incident.title,
            "message": asked.message[:500],
        }
        action = escape(settings.PIQUET_BASE_URL + request.path, {'"': "&quot;"})
        goodbye = _("No key pressed. Goodbye.")
        return twiml(
            f'<Gather numDigits="1" action="{action}" method="POST"><Say>{escape(prompt)}</Say></Gather>'
            f"<Say>{escape(goodbye)}</Say>"
        )
