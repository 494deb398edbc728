"""Overdue action items remind their owners, once a day, through the notice outbox.

The key of a reminder is the item and the owner's local date, so the hourly run tells each owner once per
day whatever how often it runs; the notice outbox sends and retries.
"""

import logging

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import notices
from incidents.models import Notice
from people.models import profile_of
from project.clock import ClockError, get_zone
from reviews.models import ActionItem

logger = logging.getLogger(__name__)

BATCH = 500  # overdue items looked at per run


def owner_today(user, now):
    """The owner's local date at `now` (their profile's zone, else the installation's)."""
    try:
        zone = get_zone(profile_of(user).time_zone or settings.TIME_ZONE)
    except ClockError:
        zone = get_zone(settings.TIME_ZONE)
    return timezone.localtime(now, zone).date()


def remind_overdue(now=None):
    """Tell the owner of each open action item past its due date (on their local date), once that day.
    Returns how many reminders were written."""
    now = now or timezone.now()
    # A day ahead of UTC covers every zone; the owner's own date decides below.
    horizon = (now + timezone.timedelta(days=1)).date()
    items = (
        ActionItem.objects.open()
        .filter(due__lt=horizon, owner__is_active=True)
        .select_related("owner", "owner__piquet_profile", "review__incident")
        .order_by("due", "id")[:BATCH]
    )
    told = 0
    for item in items:
        today = owner_today(item.owner, now)
        if not item.is_overdue(today):
            continue
        told += bool(remind(item, today=today, now=now))
    return told


def remind(item, *, today, now=None):
    """One reminder of an overdue item to its owner, in their language; keyed by item and date."""
    incident = item.review.incident
    url = settings.PIQUET_BASE_URL + reverse("admin:reviews_actionitem_change", args=[item.pk])
    with notices.speaking_to(item.owner):
        params = {"title": item.title, "number": incident.number, "due": item.due.isoformat()}
        subject = _("Action item overdue: %(title)s") % params
        text = (
            _(
                "The action item “%(title)s” from the review of incident #%(number)s was due on %(due)s. "
                "Mark it done, or give it a new due date."
            )
            % params
        )
        short = _("Overdue action item: %(title)s (due %(due)s)") % params
    return notices.tell(
        item.owner,
        kind=Notice.Kind.ACTION_ITEM,
        subject=subject,
        text=text,
        short=short,
        url=url,
        incident=incident,
        key=f"action-item:{item.pk}:{today.isoformat()}",
        now=now,
    )
