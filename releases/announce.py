"""Announcing freezes as they begin and end, once per occurrence.

The announcement row is written first (a unique constraint on window,
occurrence start and kind), then the message is sent, then the outcome is
written back: a second run, or a second worker, finds the row and sends
nothing.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from delivery.transports import APPRISE, EMAIL, Message, Target
from delivery.transports import deliver as deliver_to
from project import recurrence as window_math
from project.text import mask_address
from releases.models import FreezeAnnouncement, ReleaseWindow

logger = logging.getLogger(__name__)

# A begin or end older than this is not announced any more (a late or restarted scheduler).
LOOKBACK = timedelta(minutes=15)


def recipients():
    """(e-mail addresses, Apprise URLs) from PIQUET_FREEZE_ANNOUNCE."""
    configured = getattr(settings, "PIQUET_FREEZE_ANNOUNCE", [])
    emails = [r for r in configured if "://" not in r]
    urls = [r for r in configured if "://" in r]
    return emails, urls


def deliver(subject, body):
    """Send to every configured recipient; returns the errors (empty when all went out)."""
    emails, urls = recipients()
    message = Message(subject=subject, text=body)
    targets = [Target(kind=EMAIL, address=a) for a in emails] + [Target(kind=APPRISE, address=u) for u in urls]
    errors = []
    for method in targets:
        result = deliver_to(method, message)
        if not result.ok:
            errors.append(f"{mask_address(method.kind, method.address)}: {result.error}")
    return errors


def _scope(window):
    names = [s.name for s in window.services.all()]
    return ", ".join(names) if names else _("all services")


def compose(window, occurrence, kind):
    tz = window.zone
    span = window_math.describe_occurrence(occurrence, tz, dated=True)
    if kind == FreezeAnnouncement.Kind.BEGIN:
        subject = _("Freeze begins: %(name)s") % {"name": window.name}
        body = _("%(name)s is in force (%(span)s). No deploys to %(scope)s until it ends.") % {
            "name": window.name,
            "span": span,
            "scope": _scope(window),
        }
        if not window.is_hard:
            body += " " + _("This freeze is soft: the gate warns but does not block.")
    else:
        subject = _("Freeze over: %(name)s") % {"name": window.name}
        body = _("%(name)s has ended (%(span)s). Deploys to %(scope)s are allowed again.") % {
            "name": window.name,
            "span": span,
            "scope": _scope(window),
        }
    if window.message:
        body += "\n\n" + window.message
    return subject, body


def due_transitions(window, now):
    """(occurrence, kind) of the window that began or ended in (now - LOOKBACK, now]."""
    since = now - LOOKBACK
    due = []
    for occurrence in window_math.occurrences(window, since, now + timedelta(seconds=1)):
        if since < occurrence.start <= now:
            due.append((occurrence, FreezeAnnouncement.Kind.BEGIN))
        if since < occurrence.end <= now:
            due.append((occurrence, FreezeAnnouncement.Kind.END))
    return due


def announce_due(now=None):
    """Announce every freeze that began or ended lately and was not announced yet. Returns the count sent."""
    now = now or timezone.now()
    sent = 0
    deny_windows = ReleaseWindow.objects.enabled().filter(kind=ReleaseWindow.Kind.DENY).prefetch_related("services")
    for window in deny_windows:
        for occurrence, kind in due_transitions(window, now):
            try:
                with transaction.atomic():
                    announcement = FreezeAnnouncement.objects.create(
                        window=window, occurrence_start=occurrence.start, occurrence_end=occurrence.end, kind=kind
                    )
            except IntegrityError:
                continue
            subject, body = compose(window, occurrence, kind)
            errors = deliver(subject, body)
            FreezeAnnouncement.objects.filter(pk=announcement.pk).update(
                sent_at=timezone.now(), error="\n".join(errors)
            )
            logger.info("freeze announced window=%s kind=%s errors=%s", window.pk, kind, len(errors))
            sent += 1
    return sent
