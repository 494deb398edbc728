"""Telling a person something that is not a page: heads-ups, swap requests, reminders.

A notice is written in the person's language when it is created, one row per
way they are told things at once (their immediate notification rules for low
urgency, else their e-mail), and sent by the same outbox as everything else:
claimed once, retried, recovered. A `key` says what the notice is about, so
that a check running twice tells a person once.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from delivery.outbox import Outbox
from delivery.transports import Message
from incidents.models import Notice
from people.models import NotificationRule, paging_methods, person_language

logger = logging.getLogger(__name__)

Kind = Notice.Kind


def speaking_to(user):
    """`with speaking_to(user):` — texts made inside are in the person's language."""
    return translation.override(person_language(user))


def tell(user, *, kind, subject, text, short="", url="", incident=None, key="", now=None):
    """Tell `user` something now (or at `now`): one notice per contact method; sent after the transaction
    commits. Returns the notices written (none when `key` was already told, or the person has no way to be
    reached — logged)."""
    now = now or timezone.now()
    pairs = paging_methods(user, immediate_only=True, urgency=NotificationRule.Urgency.LOW)
    methods = [method for method, _delay in pairs]
    if not methods:
        logger.warning("notice not sent: no contact method user=%s kind=%s key=%s", user.pk, kind, key)
        return []
    written = []
    for method in dict.fromkeys(methods):
        try:
            with transaction.atomic():
                written.append(
                    Notice.objects.create(
                        kind=kind,
                        user=user,
                        contact_method=method,
                        incident=incident,
                        subject=subject[:255],
                        text=text,
                        short=short[:320],
                        url=url,
                        key=key,
                        due_at=now,
                        created_at=now,
                    )
                )
        except IntegrityError:
            continue  # already told about this key by this method
    if written:
        NOTICES.hand_out_on_commit(Notice.objects.filter(pk__in=[notice.pk for notice in written]))
    return written


def _prepare(notice, cache):
    user = notice.user
    return notice.contact_method, Message(
        subject=notice.subject,
        text=notice.text if not notice.url else f"{notice.text}\n\n{notice.url}",
        short=notice.short,
        url=notice.url,
        event={
            "event": f"notice.{notice.kind}",
            "subject": notice.subject,
            "text": notice.text,
            "url": notice.url,
            "incident": notice.incident.number if notice.incident_id else None,
            "user": {"id": user.pk, "username": user.get_username()},
            "sent_at": timezone.now().isoformat(),
        },
    )


def _recorded(outcomes):
    for outcome in outcomes:
        if outcome.result is not None and not outcome.result.ok:
            notice = outcome.row
            logger.warning(
                "notice not delivered notice=%s user=%s kind=%s status=%s error=%s",
                notice.pk,
                notice.user_id,
                notice.kind,
                outcome.status,
                outcome.result.error[:200],
            )


NOTICES = Outbox(
    Notice,
    task="incidents.tasks.send_notices",
    prepare=_prepare,
    recorded=_recorded,
    select_related=("user", "contact_method", "incident"),
    batch=50,
    claim_chunk=10,
)


def tick(now=None):
    """Due notices to the queue, and notices whose worker died back to it; the ticker calls this."""
    return NOTICES.recover(now)
