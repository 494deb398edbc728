"""Signed one-click links: they name the person and expire after 24 hours."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

ACK_SALT = "piquet.incidents.ack"
ACK_MAX_AGE = 24 * 3600


def make_action_token(incident, user):
    return signing.dumps({"i": incident.pk, "u": user.pk}, salt=ACK_SALT, compress=True)


def read_action_token(token):
    """Return (incident_id, user_id); raise signing.BadSignature (or SignatureExpired)."""
    data = signing.loads(token, salt=ACK_SALT, max_age=ACK_MAX_AGE)
    return int(data["i"]), int(data["u"])


def ack_url(incident, user):
    return settings.PIQUET_BASE_URL + reverse("incident-ack-link", args=[make_action_token(incident, user)])


def voice_url(incident, user):
    return settings.PIQUET_BASE_URL + reverse("twilio-voice", args=[make_action_token(incident, user)])


RESPOND_SALT = "piquet.incidents.respond"


def make_respond_token(request):
    """A link's token naming one responder request and the person asked."""
    return signing.dumps({"r": request.pk, "u": request.user_id}, salt=RESPOND_SALT, compress=True)


def read_respond_token(token):
    """Return (request_id, user_id); raise signing.BadSignature (or SignatureExpired)."""
    data = signing.loads(token, salt=RESPOND_SALT, max_age=ACK_MAX_AGE)
    return int(data["r"]), int(data["u"])


def respond_url(request):
    return settings.PIQUET_BASE_URL + reverse("responder-request-link", args=[make_respond_token(request)])


def respond_voice_url(request):
    return settings.PIQUET_BASE_URL + reverse("twilio-voice-respond", args=[make_respond_token(request)])
