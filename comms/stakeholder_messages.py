"""What a stakeholder message says, in the reader's language, for each channel."""

import functools
from string import Template
from zoneinfo import ZoneInfo

import markdown
import nh3
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from comms.models import Delivery, MessageTemplate
from comms.wording import DEFAULT_TEMPLATES
from delivery.transports import Message
from incidents.models import IncidentRole, SeverityDefinition

UNSUBSCRIBE_SALT = "comms.unsubscribe"
CONFIRM_SALT = "comms.confirm"
CONFIRM_MAX_AGE = 7 * 24 * 3600
ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "a", "blockquote", "h3", "h4"}


@functools.lru_cache(maxsize=4096)
def render_markdown(text):
    """Markdown to HTML with everything but a few harmless tags removed (a <script> is shown as text).

    A pure function of the text, so the status page renders each message once per process.
    """
    html = markdown.markdown(escape_raw_html(text or ""), extensions=["sane_lists"])
    return mark_safe(  # noqa: S308 (nh3 leaves only the allowed tags and attributes)
        nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https", "mailto"})
    )


def escape_raw_html(text):
    """Markdown passes raw HTML through: escape it first, so typed tags are shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;")


def status_zone():
    return ZoneInfo(settings.TIME_ZONE)


def when(instant):
    """An instant as stakeholders read it: local time of the status page's zone, with the zone."""
    if instant is None:
        return ""
    local = timezone.localtime(instant, status_zone())
    return local.strftime("%Y-%m-%d %H:%M ") + local.tzname()


def template_text(purpose, language):
    found = MessageTemplate.objects.filter(purpose=purpose, language=language).values_list("body", flat=True).first()
    if found is None and language != settings.LANGUAGE_CODE:
        found = (
            MessageTemplate.objects.filter(purpose=purpose, language=settings.LANGUAGE_CODE)
            .values_list("body", flat=True)
            .first()
        )
    if found is None:
        texts = DEFAULT_TEMPLATES.get(purpose, {})
        found = texts.get(language) or texts.get(settings.LANGUAGE_CODE, "")
    return found


def fill(purpose, incident, language, *, next_update_at=None, eta=None):
    """A template filled in for an incident, in `language`."""

    commander = (
        IncidentRole.objects.filter(incident=incident, role=IncidentRole.Role.COMMANDER).select_related("user").first()
    )
    definition = SeverityDefinition.for_severity(incident.severity)
    with translation.override(language):
        values = {
            "number": incident.number,
            "title": incident.title,
            "service": incident.service.name,
            "public_name": incident.service.public_label,
            "impact": definition.impact_text,
            "severity": incident.severity,
            "severity_description": definition.description_text,
            "commander": (
                (commander.user.get_full_name() or commander.user.get_username()) if commander else _("being assigned")
            ),
            "next_update": when(next_update_at) or _("when there is news"),
            "eta": when(eta) or _("not known yet"),
        }
    return Template(template_text(purpose, language)).safe_substitute(values)


def fill_all(purpose, incident, **times):
    """The template filled in once in every language Piquet speaks: {language: text}."""
    return {code: fill(purpose, incident, code, **times) for code, _name in settings.LANGUAGES}


def public_incident_url(incident):
    return settings.PIQUET_BASE_URL + reverse("status-incident", args=[incident.number])


def unsubscribe_url(delivery):
    if delivery.subscriber_id:
        payload = {"s": delivery.subscriber_id}
    elif delivery.user_id:
        payload = {"u": delivery.user_id, "g": delivery.data.get("groups", [])}
    else:
        return ""
    token = signing.dumps(payload, salt=UNSUBSCRIBE_SALT, compress=True)
    return settings.PIQUET_BASE_URL + reverse("status-unsubscribe", args=[token])


def confirm_url(subscriber):
    token = signing.dumps({"s": subscriber.pk, "a": subscriber.address}, salt=CONFIRM_SALT, compress=True)
    return settings.PIQUET_BASE_URL + reverse("status-confirm", args=[token])


def update_message_text(update, language):
    """The message of an update as it was written when posted (in `language` when Piquet wrote it)."""
    return update.text_in(language)


def update_event(update):
    incident = update.incident
    return {
        "event": "incident.status_update",
        "incident": {
            "id": incident.pk,
            "number": incident.number,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
            "service": {"slug": incident.service.slug, "name": incident.service.name},
            "url": public_incident_url(incident) if update.public else None,
        },
        "update": {
            "phase": update.phase,
            "message": update_message_text(update, settings.LANGUAGE_CODE),
            "next_update_at": update.next_update_at.isoformat() if update.next_update_at else None,
            "eta": update.eta.isoformat() if update.eta else None,
            "posted_at": update.posted_at.isoformat(),
        },
    }


def update_parts(update, language, *, public=False):
    """(subject, text, unsubscribe label) of an update; `public`: for a visitor (public names only)."""
    incident = update.incident
    with translation.override(language):
        subject = _("[%(service)s] %(title)s — %(phase)s") % {
            "service": incident.service.public_label if public else incident.service.name,
            "title": incident.public_label if public else incident.title,
            "phase": update.get_phase_display(),
        }
        lines = [f"{update.get_phase_display()}: {update_message_text(update, language)}", ""]
        if update.next_update_at:
            lines.append(_("Next update by %(when)s.") % {"when": when(update.next_update_at)})
        if update.eta:
            lines.append(_("Expected resolution by %(when)s.") % {"when": when(update.eta)})
        if update.public:
            lines.append(_("Status page: %(url)s") % {"url": public_incident_url(incident)})
        bridge = " — ".join(part for part in (incident.bridge_url, incident.bridge_phone) if part)
        if bridge and not public:  # the people inside join the call; visitors never see it
            lines.append(_("Conference bridge: %(bridge)s") % {"bridge": bridge})
        unsubscribe_label = _("Unsubscribe: %(url)s")
    return subject, "\n".join(lines).strip(), unsubscribe_label


def build(delivery, *, cache=None):
    """The Message for a delivery row."""
    cache = {} if cache is None else cache
    builders = {
        Delivery.Purpose.STATUS_UPDATE: _build_update,
        Delivery.Purpose.REMINDER: _build_reminder,
        Delivery.Purpose.ROLE: _build_role,
        Delivery.Purpose.FINAL_PROMPT: _build_final_prompt,
        Delivery.Purpose.CONFIRM: _build_confirm,
        Delivery.Purpose.MAINTENANCE: _build_maintenance,
    }
    return builders[delivery.purpose](delivery, cache)


def _build_update(delivery, cache):
    update = delivery.update
    visitor = delivery.subscriber_id is not None and delivery.subscriber.group_id is None
    parts_key = ("parts", update.pk, delivery.language, visitor)
    if parts_key not in cache:
        cache[parts_key] = update_parts(update, delivery.language, public=visitor)
    subject, text, unsubscribe_label = cache[parts_key]
    event_key = ("event", update.pk)
    if event_key not in cache:
        cache[event_key] = update_event(update)
    link = unsubscribe_url(delivery)
    headers = {}
    if link:
        text += "\n\n" + unsubscribe_label % {"url": link}
        headers = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return Message(subject=subject, text=text, event=cache[event_key], headers=headers)


def _incident_facts(incident):
    return {"number": incident.number, "title": incident.title, "service": incident.service.name}


def _build_reminder(delivery, cache):
    incident = delivery.incident
    data = delivery.data
    due = timezone.datetime.fromisoformat(data["due_at"]) if data.get("due_at") else None
    with translation.override(delivery.language):
        facts = {**_incident_facts(incident), "due": when(due), "url": incident.url}
        if data.get("told"):
            subject = _("[Piquet] #%(number)s: stakeholders still wait for an update") % facts
            text = _(
                "The stakeholder update for #%(number)s %(title)s was due at %(due)s and is still missing; "
                "%(names)s was reminded twice. Post one: %(url)s"
            ) % {**facts, "names": data.get("reminded", "")}
        else:
            subject = _("[Piquet] #%(number)s: a stakeholder update is due") % facts
            text = (
                _("The stakeholder update for #%(number)s %(title)s was due at %(due)s. Post one now: %(url)s") % facts
            )
    event = {"event": "incident.update_reminder", "incident": {"id": incident.pk, "number": incident.number}, **data}
    return Message(subject=subject, text=text, event=event)


def _build_role(delivery, cache):

    incident = delivery.incident
    with translation.override(delivery.language):
        role = IncidentRole.Role(delivery.data["role"]).label
        facts = {**_incident_facts(incident), "role": role, "url": incident.url}
        subject = _("[Piquet] #%(number)s: you are the %(role)s") % facts
        text = _("You are now the %(role)s of incident #%(number)s on %(service)s: %(title)s. %(url)s") % facts
    event = {"event": "incident.role_assigned", "incident": {"id": incident.pk, "number": incident.number}}
    return Message(subject=subject, text=text, event={**event, "role": delivery.data["role"]})


def _build_final_prompt(delivery, cache):
    incident = delivery.incident
    with translation.override(delivery.language):
        facts = {**_incident_facts(incident), "url": incident.url}
        subject = _("[Piquet] #%(number)s is resolved: post the final update") % facts
        text = _("Incident #%(number)s %(title)s is resolved. Tell stakeholders with a final update: %(url)s") % facts
    event = {"event": "incident.final_update_prompt", "incident": {"id": incident.pk, "number": incident.number}}
    return Message(subject=subject, text=text, event=event)


def _build_confirm(delivery, cache):
    with translation.override(delivery.language):
        subject = _("Confirm your subscription to status updates")
        text = _(
            "Someone, hopefully you, asked to receive status updates by e-mail at this address. "
            "Confirm with this link: %(url)s\n\nIf it was not you, ignore this message."
        ) % {"url": confirm_url(delivery.subscriber)}
    return Message(subject=subject, text=text)


def _build_maintenance(delivery, cache):
    """Scheduled maintenance, told ahead to the status page's subscribers: what, which services, when."""
    data = delivery.data
    start, end = parse_datetime(data["start"]), parse_datetime(data["end"])
    with translation.override(delivery.language):
        subject = _("Scheduled maintenance: %(name)s") % {"name": data["name"]}
        text = _("%(services)s: maintenance from %(start)s to %(end)s.") % {
            "services": data["services"] or _("All services"),
            "start": when(start),
            "end": when(end),
        }
        link = unsubscribe_url(delivery)
        headers = {}
        if link:
            text += "\n\n" + _("Unsubscribe: %(url)s") % {"url": link}
            headers = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return Message(subject=subject, text=text, headers=headers)
