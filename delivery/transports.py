"""Delivering one message to one address: the transports.

E-mail goes through Django's e-mail backend (EMAIL_URL); webhooks are a signed
JSON POST; SMS, WhatsApp, voice calls, Slack, Telegram and any other Apprise
URL go through Apprise, which owns those transports. Every call returns a
`Result` and never raises for a provider's failure: the caller records it and
decides whether to retry (see delivery.outbox).

A target is anything with `kind`, `address` and `secret` (a person's contact
method, a subscriber, or a `Target` made up on the spot); the kinds are the
strings below.
"""

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import quote

import apprise
import requests
from django.conf import settings
from django.core.mail import EmailMessage

from project import outbound
from project.text import mask_address, one_line, plain_text

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10
SIGNATURE_HEADER = "X-Piquet-Signature"
SUBJECT_LENGTH = 200  # characters of a subject or title: headers are one line
ANSWER_LENGTH = 200  # characters of a receiver's answer or an error kept: status, not content
DELIVERY_HEADER = "X-Piquet-Delivery"  # the same on every attempt of one message: receivers can deduplicate

EMAIL = "email"
SMS = "sms"
WHATSAPP = "whatsapp"
VOICE = "voice"
SLACK = "slack"
TELEGRAM = "telegram"
WEBHOOK = "webhook"
APPRISE = "apprise"
PHONE_KINDS = (SMS, WHATSAPP, VOICE)
URL_KINDS = (SLACK, WEBHOOK, APPRISE)  # sent to a URL the person or subscriber gave


@dataclass(frozen=True)
class Target:
    """An address to deliver to that is not stored as a contact method."""

    kind: str
    address: str
    secret: str = ""
    pk = None


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def scrub(text):
    """An error or answer as it may be stored and shown: URLs (which may carry tokens) cut to their scheme,
    ANSWER_LENGTH characters at most."""
    text = _URL.sub(lambda m: m.group(0).split("://", 1)[0] + "://…", str(text))
    return one_line(text, ANSWER_LENGTH)


@dataclass
class Message:
    subject: str
    text: str
    event: dict = field(default_factory=dict)
    url: str = ""
    headers: dict = field(default_factory=dict)
    spoken: str = ""  # what a voice call says
    voice_url: str = ""  # TwiML the call fetches (key presses acknowledge or escalate)
    delivery_id: str = ""  # which message this is, the same on every attempt (X-Piquet-Delivery)
    short: str = ""  # what a phone (SMS, WhatsApp) gets instead of subject and text, when given


@dataclass
class Result:
    ok: bool
    response: str = ""
    error: str = ""


class NotConfigured(Exception):
    """A provider's credentials are missing from the settings."""


def sign(secret, body):
    """The value of X-Piquet-Signature for a body: `sha256=<hex HMAC>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(method, message):
    """Send `message` to the target `method`; return a Result (never raises for provider errors)."""
    try:
        refused = outbound.refusal(method.address) if method.kind in URL_KINDS else None
        if refused:
            result = Result(ok=False, error=refused)
        elif method.kind == EMAIL:
            result = _email(method, message)
        elif method.kind == WEBHOOK:
            result = _webhook(method, message)
        elif method.kind == VOICE and message.voice_url:
            result = _twilio_call(method, message)
        else:
            result = _apprise(apprise_url(method), message, short=method.kind in PHONE_KINDS)
    except NotConfigured as exc:
        result = Result(ok=False, error=str(exc))
    except Exception as exc:  # a transport failure must never stop the caller
        logger.warning("delivery failed method=%s kind=%s error=%s", method.pk, method.kind, exc.__class__.__name__)
        result = Result(ok=False, error=scrub(f"{exc.__class__.__name__}: {exc}"))
    logger.info(
        "delivery method=%s kind=%s to=%s ok=%s",
        method.pk,
        method.kind,
        mask_address(method.kind, method.address),
        result.ok,
    )
    return result


def _email(method, message):
    email = EmailMessage(
        subject=one_line(message.subject, SUBJECT_LENGTH),
        body=plain_text(message.text + (f"\n\n{message.url}" if message.url else "")),
        to=[method.address],
        headers={name: one_line(value, 1000) for name, value in message.headers.items()} or None,
    )
    sent = email.send()
    return Result(ok=bool(sent), response=f"sent={sent}")


def _webhook(method, message):
    body = json.dumps(message.event, sort_keys=True, default=str).encode()
    try:
        response = requests.post(
            method.address,
            data=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(method.secret, body),
                **({DELIVERY_HEADER: message.delivery_id} if message.delivery_id else {}),
            },
            timeout=WEBHOOK_TIMEOUT,
            allow_redirects=False,  # a redirect could lead to an address the check refused
        )
    except requests.RequestException as exc:
        return Result(ok=False, error=f"{exc.__class__.__name__}: the receiver could not be reached.")
    ok = 200 <= response.status_code < 300
    status = f"HTTP {response.status_code}"
    return Result(ok=ok, response=status, error="" if ok else scrub(f"{status}: {response.text}"))


def _twilio_credentials():
    sid, token, sender = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER
    if not (sid and token and sender):
        raise NotConfigured("Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER).")
    return sid, token, sender


def _twilio_call(method, message):
    """A voice call that fetches its TwiML from Piquet, so a key press can acknowledge."""
    from twilio.base.exceptions import TwilioException
    from twilio.rest import Client

    sid, token, sender = _twilio_credentials()
    client = Client(sid, token)
    client.api.base_url = settings.TWILIO_API_BASE_URL
    try:
        call = client.calls.create(to=method.address, from_=sender, url=message.voice_url)
    except TwilioException as exc:
        return Result(ok=False, error=f"Twilio: {exc}"[:1000])
    return Result(ok=True, response=f"call {call.sid} {call.status}")


def apprise_url(method):
    """The Apprise URL for a target, with provider credentials from the settings."""
    if method.kind in PHONE_KINDS:
        sid, token, sender = _twilio_credentials()
        target = method.address.lstrip("+")
        if method.kind == WHATSAPP:
            return f"twilio://{sid}:{quote(token, safe='')}@{sender.lstrip('+')}/w:{target}"
        if method.kind == VOICE:
            return f"twilio://{sid}:{quote(token, safe='')}@{sender.lstrip('+')}/{target}?method=call"
        return f"twilio://{sid}:{quote(token, safe='')}@{sender.lstrip('+')}/{target}"
    if method.kind == TELEGRAM:
        if not settings.TELEGRAM_BOT_TOKEN:
            raise NotConfigured("Telegram is not configured (TELEGRAM_BOT_TOKEN).")
        return f"tgram://{settings.TELEGRAM_BOT_TOKEN}/{method.address}"
    return method.address


def _apprise(url, message, *, short=False):
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return Result(ok=False, error="Apprise does not understand this URL.")
    if short and message.short:
        # A phone gets the short form alone: Twilio would put the subject before it.
        title, body = "", plain_text(message.short)
    else:
        title = one_line(message.subject, SUBJECT_LENGTH)
        body = plain_text(message.text + (f"\n{message.url}" if message.url else ""))
    with apprise.LogCapture(level=apprise.logging.INFO) as logs:
        sent = notifier.notify(title=title, body=body)
        captured = logs.getvalue()
    # notify() returns a truthy object on success, not always True.
    ok = bool(sent)
    return Result(
        ok=ok,
        response=scrub(captured[-ANSWER_LENGTH:]),
        error="" if ok else scrub(captured or "Apprise reported failure."),
    )
