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
