"""E-mail integrations: the mail server pipes each message to `manage.py ingest_email KEY`.

A message becomes an alert of its integration: the subject the title, the text the details, `From` the
source. A thread is one incident: the deduplication key is the thread's root message id (the first of
`References`, else `In-Reply-To`, else the message's own `Message-ID`), so a reply joins the open incident
of the first message. The subject may carry a severity (`[SEV1]` … `[SEV4]`, else SEV3) and, at its start,
`RESOLVED` or `[RESOLVED]`, which resolves the thread's open incident; nothing else is read from a message.
"""

import email
import email.policy
import hashlib
import logging
import re
import uuid
from email.errors import MessageError
from html.parser import HTMLParser

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from incidents import lifecycle, opening
from incidents.ingest import MAX_DEDUP_KEY, Outcome
from incidents.models import Alert, Severity
from project.text import one_line, plain_text

logger = logging.getLogger(__name__)

DEFAULT_SEVERITY = Severity.SEV3
MAX_DESCRIPTION = 10_000
_SEVERITY_TAG = re.compile(r"\[(SEV[1-4])\]", re.IGNORECASE)
_RESOLVED = re.compile(r"^(?:(?:re|fwd?|aw|wg)\s*:\s*)*\[?resolved\]?(?![\w-])", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class BadMessage(Exception):
    """A message that cannot be accepted; the text is one sentence for the mail server's log."""


class _TextOfHTML(HTMLParser):
    """The text of an HTML body, without its scripts and styles; blocks end lines."""

    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)

    def text(self):
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def html_to_text(html):
    parser = _TextOfHTML()
    parser.feed(html)
    parser.close()
    return parser.text()


def _content(part):
    try:
        return part.get_content()
    except (LookupError, ValueError, MessageError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def _body(message):
    """The text/plain part, else the HTML part as text, else ""."""
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return str(_content(part))
    part = message.get_body(preferencelist=("html",))
    return html_to_text(str(_content(part))) if part is not None else ""


def _ids(value):
    return _MESSAGE_ID.findall(str(value or ""))


def thread_key(message):
    """The deduplication key of the message's thread: its root message id."""
    root = next(iter(_ids(message["References"]) + _ids(message["In-Reply-To"]) + _ids(message["Message-ID"])), None)
    key = f"email:{root}" if root else f"email:{uuid.uuid4().hex}"
    return key if len(key) <= MAX_DEDUP_KEY else "email:sha256:" + hashlib.sha256(root.encode()).hexdigest()


def parse(raw):
    """The fields of one RFC 822 message (bytes), or BadMessage."""
    limit = settings.PIQUET_MAX_EVENT_BYTES
    if len(raw) > limit:
        raise BadMessage(f"The message is larger than {limit // 1024} KB.")
    if not raw.strip():
        raise BadMessage("The message is empty.")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        sender = one_line(message["From"], 1024)
        if not sender or not message.keys():
            raise BadMessage("The input is not an e-mail message: it has no From header.")
        subject = str(message["Subject"] or "")
        fields = {
            "source": sender,
            "subject": subject,
            "title": one_line(subject, opening.MAX_TITLE),
            "details": plain_text(_body(message)),
            "dedup_key": thread_key(message),
            "message_id": one_line(message["Message-ID"], 998),
            "to": one_line(message["To"], 998),
            "date": one_line(message["Date"], 200),
        }
    except BadMessage:
        raise
    except (MessageError, LookupError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise BadMessage(f"The message cannot be read ({exc.__class__.__name__}).") from None
    tag = _SEVERITY_TAG.search(subject)
    fields["severity"] = Severity(tag[1].upper()) if tag else DEFAULT_SEVERITY
    fields["resolve"] = bool(_RESOLVED.match(subject.strip()))
    if not fields["title"]:
        with translation.override(settings.LANGUAGE_CODE):
            fields["title"] = one_line(gettext("E-mail from %(sender)s") % {"sender": sender}, opening.MAX_TITLE)
    return fields


def process_email(integration, raw, *, now=None):
    """Accept one message for `integration`, in one transaction; returns what it did, or raises BadMessage."""
    fields = parse(raw)
    now, service, key = now or timezone.now(), integration.service, fields["dedup_key"]
    payload = {
        "from": fields["source"],
        "to": fields["to"],
        "subject": fields["subject"],
        "date": fields["date"],
        "message_id": fields["message_id"],
        "custom_details": {"body": fields["details"]},
    }
    with transaction.atomic():
        created = False
        if fields["resolve"]:
            incident = opening.lock_open(service, key)
            if incident is not None:
                incident = lifecycle.resolve(incident, actor_name=integration.name)
        else:
            incident, created = opening.open_or_join(
                service=service,
                dedup_key=key,
                title=fields["title"],
                description=fields["details"][:MAX_DESCRIPTION],
                severity=fields["severity"],
                actor_name=integration.name,
                data={"source": fields["source"]},
                alert_count=1,
                at=now,
            )
            if not created:
                opening.record_alert_joined(incident, at=now)
        Alert.objects.create(
            integration=integration,
            incident=incident,
            dedup_key=key,
            action="resolve" if fields["resolve"] else "trigger",
            summary=fields["title"][:1024],
            severity=fields["severity"],
            source=fields["source"],
            payload=payload,
            received_at=now,
        )
    logger.info(
        "e-mail accepted integration=%s dedup_key=%s incident=%s created=%s",
        integration.pk,
        key,
        incident.number if incident else None,
        created,
    )
    return Outcome(dedup_key=key, incident=incident, created=created)
