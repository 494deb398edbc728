"""What a page or a notice says, in the person's language."""

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from delivery.transports import Message, deliver
from incidents.links import ack_url, voice_url
from incidents.models import Notification
from people.models import person_language


def build_message(notification):
    incident = notification.incident
    user = notification.user
    with translation.override(person_language(user)):
        facts = {
            "number": incident.number,
            "title": incident.title,
            "severity": incident.severity,
            "service": incident.service.name,
        }
        if notification.purpose == Notification.Purpose.PAGE:
            event = "incident.page"
            subject = _("[Piquet] #%(number)s %(severity)s %(service)s: %(title)s") % facts
            link = ack_url(incident, user)
            text = _("#%(number)s %(severity)s on %(service)s: %(title)s. Acknowledge: %(link)s") % {
                **facts,
                "link": link,
            }
            spoken = (
                _(
                    "Piquet incident %(number)s, %(severity)s on %(service)s: %(title)s. "
                    "Press 1 to acknowledge, 2 to escalate."
                )
                % facts
            )
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
    return Message(
        subject=subject,
        text=text,
        url=link if notification.purpose != Notification.Purpose.PAGE else "",
        spoken=spoken,
        voice_url=voice_url(incident, user) if notification.purpose == Notification.Purpose.PAGE else "",
        event={
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
            "user": {"id": user.pk, "username": user.get_username()},
            "acknowledge_url": ack_url(incident, user) if event == "incident.page" else None,
            "sent_at": timezone.now().isoformat(),
        },
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
