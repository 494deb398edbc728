"""Public maintenance windows: on the status page as scheduled maintenance, and told ahead to its subscribers.

Each occurrence of a public window is announced once, up to ANNOUNCE_AHEAD before it begins (at once when it is
planned closer than that): one `Delivery` per confirmed subscriber of the status page, keyed by the window and
the occurrence's start, so running twice sends nothing twice.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from comms.models import Delivery, Subscriber
from comms.stakeholders import DELIVERIES
from incidents.models import MaintenanceWindow
from incidents.models.maintenance import planned
from project import recurrence

logger = logging.getLogger(__name__)

ANNOUNCE_AHEAD = timedelta(hours=24)
SHOWN_AHEAD = timedelta(days=14)  # how far ahead the status page lists scheduled maintenance


def _public_names(window):
    return ", ".join(sorted(s.public_label for s in window.services.all()))


def scheduled(*, now=None):
    """Public maintenance under way or due within SHOWN_AHEAD, soonest first: dicts of name, services, start,
    end and whether it is under way."""
    now = now or timezone.now()
    found = []
    for window in MaintenanceWindow.objects.enabled().filter(public=True).prefetch_related("services"):
        for occurrence in recurrence.occurrences(window, now, now + SHOWN_AHEAD)[:3]:
            found.append(
                {
                    "name": window.name,
                    "services": _public_names(window),
                    "start": occurrence.start,
                    "end": occurrence.end,
                    "active": occurrence.start <= now,
                }
            )
    return sorted(found, key=lambda item: item["start"])


def announce(window, *, now=None):
    """Tell the status page's subscribers of the window's next occurrence if it begins within ANNOUNCE_AHEAD
    (or is under way); returns how many messages were written."""
    now = now or timezone.now()
    if not (window.public and window.enabled):
        return 0
    upcoming = [o for o in recurrence.occurrences(window, now, now + ANNOUNCE_AHEAD) if o.end > now]
    if not upcoming:
        return 0
    occurrence = upcoming[0]
    key = f"maintenance:{window.pk}:{int(occurrence.start.timestamp())}"
    data = {
        "window": window.pk,
        "name": window.name,
        "services": _public_names(window),
        "start": occurrence.start.isoformat(),
        "end": occurrence.end.isoformat(),
    }
    subscribers = Subscriber.objects.filter(group=None, confirmed_at__isnull=False)
    rows = [
        Delivery(
            key=key,
            purpose=Delivery.Purpose.MAINTENANCE,
            subscriber=subscriber,
            kind=subscriber.kind,
            address=subscriber.address,
            language=subscriber.language,
            data=data,
            due_at=now,
            created_at=now,
        )
        for subscriber in subscribers
        if subscriber.is_active
    ]
    with transaction.atomic():
        before = Delivery.objects.filter(key=key).count()
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        written = Delivery.objects.filter(key=key).count() - before
        MaintenanceWindow.objects.filter(pk=window.pk).update(announced_at=now)
        DELIVERIES.hand_out_on_commit(Delivery.objects.filter(key=key))
    if written:
        logger.info("maintenance announced window=%s start=%s messages=%s", window.pk, data["start"], written)
    return written


def announce_due(*, now=None):
    """Announce every public window whose next occurrence begins within ANNOUNCE_AHEAD (a periodic task)."""
    windows = MaintenanceWindow.objects.enabled().filter(public=True).prefetch_related("services")
    return sum(announce(window, now=now) for window in windows)


def _announce_planned(sender, window, **kwargs):
    # Robust: a failed announcement is logged and retried by the periodic task; the window stays saved.
    transaction.on_commit(
        lambda: announce(MaintenanceWindow.objects.prefetch_related("services").get(pk=window.pk)), robust=True
    )


planned.connect(_announce_planned, dispatch_uid="comms.maintenance.announce")
