"""What a page or a notice says, in the person's language.

A page by e-mail, webhook or chat tells the responder what they need before they open anything: the alert's
summary, severity, service and source, its first details, the links it carried, how to acknowledge and where the
incident is. SMS and voice keep a short form with the acknowledge instruction.
"""

import json
import re
from urllib.parse import urlsplit

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from delivery.transports import Message, deliver
from incidents.bridge import bridge_text
from incidents.links import ack_url, respond_url, respond_voice_url, voice_url
from incidents.models import Notification
from people.models import display_name, person_language
from project.text import one_line

MAX_DETAILS = 8  # fields of the alert shown in a page
DETAIL_KEY_LENGTH = 60
DETAIL_VALUE_LENGTH = 200
MAX_LINKS = 5
LINK_LENGTH = 500
SMS_LENGTH = 320  # two SMS segments
LINK_SCHEMES = ("http", "https")
_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)


def _text(value):
    """An alert value as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _raw_details(payload):
    """The alert's own fields (key → value), in the order the monitoring tool gave them.

    Events API v2 keeps them in `payload.custom_details` (an object, or any JSON value) with `component`,
    `group` and `class`; Alertmanager in each alert's annotations and labels.
    """
    if not isinstance(payload, dict):
        return []
    alert = payload.get("alert")
    if isinstance(alert, dict):  # Alertmanager
        pairs = []
        for name in ("annotations", "labels"):
            fields = alert.get(name)
            if isinstance(fields, dict):
                pairs += [(key, value) for key, value in fields.items() if key != "summary"]
        return pairs
    body = payload.get("payload")
    if not isinstance(body, dict):
        return []
    pairs = [(key, body[key]) for key in ("component", "group", "class") if body.get(key)]
    custom = body.get("custom_details")
    if isinstance(custom, dict):
        pairs += list(custom.items())
    elif custom not in (None, "", [], {}):
        pairs.append(("details", custom))
    return pairs


def _is_link(url):
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(parts.netloc) and len(url) <= LINK_LENGTH


def _links(payload, pairs):
    """The http(s) links the alert carried (Events API v2 `links`, and detail values that are links)."""
    candidates = []
    if isinstance(payload, dict) and isinstance(payload.get("links"), list):
        candidates += [link.get("href") for link in payload["links"] if isinstance(link, dict)]
    if isinstance(payload, dict) and isinstance(payload.get("alert"), dict):
        candidates.append(payload["alert"].get("generatorURL"))
    for _key, value in pairs:
        candidates += _URL.findall(value) if isinstance(value, str) else []
    links = []
    for candidate in candidates:
        if isinstance(candidate, str):
            candidate = candidate.strip()
            if _is_link(candidate) and one_line(candidate, LINK_LENGTH) == candidate and candidate not in links:
                links.append(candidate)
    return links[:MAX_LINKS]


def alert_facts(incident):
    """(source, details, links) of the alert that opened the incident: bounded, one line each."""
    alert = incident.alerts.order_by("received_at", "id").only("source", "payload").first()
    if alert is None:
        return "", {}, []
    pairs = _raw_details(alert.payload)
    details = {}
    for key, value in pairs:
        if len(details) >= MAX_DETAILS:
            break
        key = one_line(key, DETAIL_KEY_LENGTH)
        if key and key not in details:
            details[key] = one_line(_text(value), DETAIL_VALUE_LENGTH)
    return one_line(alert.source, DETAIL_VALUE_LENGTH), details, _links(alert.payload, pairs)


def _short_page(facts, link):
    """The SMS: number, severity, service, title, the bridge and the acknowledge link, SMS_LENGTH characters at
    most; the title is what gets shorter."""
    if facts["bridge"]:
        template = _("#%(number)s %(severity)s on %(service)s: %(title)s. Bridge: %(bridge)s. Acknowledge: %(link)s")
    else:
        template = _("#%(number)s %(severity)s on %(service)s: %(title)s. Acknowledge: %(link)s")
    return _shortened(template, facts, link)


def _shortened(template, facts, link):
    without_title = template % {**facts, "title": "", "link": link}
    room = max(SMS_LENGTH - len(without_title), 10)
    return template % {**facts, "title": one_line(facts["title"], room), "link": link}


def _bridge_lines(incident):
    lines = []
    if incident.bridge_url:
        lines.append(_("Conference bridge: %(link)s") % {"link": incident.bridge_url})
    if incident.bridge_phone:
        lines.append(_("Dial in: %(phone)s") % {"phone": incident.bridge_phone})
    return lines


def _long_page(facts, *, source, details, links, ack, admin, bridge):
    lines = [
        _("#%(number)s %(severity)s on %(service)s: %(title)s") % facts,
        "",
        _("Summary: %(title)s") % facts,
        _("Severity: %(severity)s") % facts,
        _("Service: %(service)s") % facts,
    ]
    if source:
        lines.append(_("Source: %(source)s") % {"source": source})
    if details:
        lines += ["", _("Details:")]
        lines += ["  " + _("%(name)s: %(value)s") % {"name": name, "value": value} for name, value in details.items()]
    if links:
        lines += ["", _("Links:")]
        lines += ["  " + link for link in links]
    if bridge:
        lines += ["", *bridge]
    lines += [
        "",
        _("Acknowledge: %(link)s") % {"link": ack},
        _("Open the incident: %(link)s") % {"link": admin},
    ]
    return "\n".join(lines)


def _responder_request(notification, facts):
    """Subject, text, short text and spoken text of a responder request: who asks, why, the incident, the
    bridge, and how to answer."""
    request = notification.responder_request
    incident = notification.incident
    facts = {
        **facts,
        "who": display_name(request.requested_by) if request.requested_by_id else "Piquet",
        "message": one_line(request.message, 500),
    }
    link = respond_url(request)
    subject = _("[Piquet] #%(number)s: %(who)s asks you to join: %(title)s") % facts
    lines = [_("%(who)s asks you to join the response to incident #%(number)s.") % facts, ""]
    if request.message:
        lines += [_("Message: %(message)s") % facts, ""]
    lines += [
        _("#%(number)s %(severity)s on %(service)s: %(title)s") % facts,
        _("Status: %(status)s") % {"status": incident.get_status_display()},
    ]
    bridge = _bridge_lines(incident)
    if bridge:
        lines += ["", *bridge]
    lines += [
        "",
        _("Join or decline: %(link)s") % {"link": link},
        _("By SMS, reply JOIN %(number)s or DECLINE %(number)s.") % facts,
        _("Open the incident: %(link)s") % {"link": incident.url},
    ]
    if facts["bridge"]:
        template = _(
            "#%(number)s %(who)s asks you to join: %(title)s. Bridge: %(bridge)s. "
            "Reply JOIN %(number)s or DECLINE %(number)s, or: %(link)s"
        )
    else:
        template = _(
            "#%(number)s %(who)s asks you to join: %(title)s. Reply JOIN %(number)s or DECLINE %(number)s, or: %(link)s"
        )
    spoken = (
        _(
            "Piquet: %(who)s asks you to join the response to incident %(number)s, %(severity)s on %(service)s: "
            "%(title)s. %(message)s Press 1 to join, 2 to decline."
        )
        % facts
    )
    return subject, "\n".join(lines), _shortened(template, facts, link), spoken, link


def build_message(notification):
    incident = notification.incident
    user = notification.user
    page = notification.purpose == Notification.Purpose.PAGE
    asked = notification.purpose == Notification.Purpose.RESPONDER_REQUEST and notification.responder_request_id
    source, details, links = alert_facts(incident) if page else ("", {}, [])
    voice = ""
    with translation.override(person_language(user)):
        facts = {
            "number": incident.number,
            "title": one_line(incident.title, 1024),
            "severity": incident.severity,
            "service": incident.service.name,
            "bridge": bridge_text(incident),
        }
        short = ""
        if page:
            event = "incident.page"
            subject = _("[Piquet] #%(number)s %(severity)s %(service)s: %(title)s") % facts
            link = ack_url(incident, user)
            text = _long_page(
                facts,
                source=source,
                details=details,
                links=links,
                ack=link,
                admin=incident.url,
                bridge=_bridge_lines(incident),
            )
            short = _short_page(facts, link)
            spoken = (
                _(
                    "Piquet incident %(number)s, %(severity)s on %(service)s: %(title)s. "
                    "Press 1 to acknowledge, 2 to escalate."
                )
                % facts
            )
            voice = voice_url(incident, user)
        elif asked:
            event = "incident.responder_request"
            subject, text, short, spoken, link = _responder_request(notification, facts)
            voice = respond_voice_url(notification.responder_request)
        elif notification.purpose == Notification.Purpose.ACKNOWLEDGED:
            event = "incident.acknowledged"
            subject = _("[Piquet] #%(number)s acknowledged: %(title)s") % facts
            text = _("#%(number)s on %(service)s was acknowledged: %(title)s") % facts
            link, spoken = incident.url, text
        else:
            event = "incident.resolved"
            subject = _("[Piquet] #%(number)s resolved: %(title)s") % facts
            text = _("#%(number)s on %(service)s is resolved: %(title)s") % facts
            link, spoken = incident.url, text
    body = {
        "event": event,
        "incident": {
            "id": incident.pk,
            "number": incident.number,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
            "service": incident.service.slug,
            "url": incident.url,
        },
        "bridge": {"url": incident.bridge_url, "phone": incident.bridge_phone},
        "source": source,
        "details": details,
        "links": links,
        "admin_url": incident.url,
        "user": {"id": user.pk, "username": user.get_username()},
        "acknowledge_url": link if page else None,
        "sent_at": timezone.now().isoformat(),
    }
    if asked:
        request = notification.responder_request
        body["responder_request"] = {
            "id": request.pk,
            "message": request.message,
            "requested_by": (
                {"id": request.requested_by_id, "name": display_name(request.requested_by)}
                if request.requested_by_id
                else None
            ),
            "respond_url": link,
        }
    return Message(
        subject=subject,
        text=text,
        short=short,
        url=link if not page else "",
        spoken=spoken,
        voice_url=voice,
        event=body,
    )


def send_test_notification(method):
    """Send a short test message by one contact method, now; return the delivery Result."""
    with translation.override(person_language(method.user)):
        message = Message(
            subject=_("Piquet test notification"),
            text=_("This is a test notification from Piquet. If you read this, %(method)s works.")
            % {"method": method.get_kind_display()},
            event={
                "event": "test",
                "user": {"id": method.user_id, "username": method.user.get_username()},
                "sent_at": timezone.now().isoformat(),
            },
        )
    return deliver(method, message)
