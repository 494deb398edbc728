"""Starting, ending and announcing maintenance windows; what is silenced now."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import escalation
from incidents.models import MaintenanceWindow
from incidents.models.maintenance import planned

MAX_DURATION = timedelta(days=30)  # "from now for …" at most


def start_now(*, name, services, minutes, by=None, reason="", public=False, now=None):
    """A one-off window from now for `minutes` (1 minute to 30 days) over `services` (none: every service)."""
    now = now or timezone.now()
    duration = timedelta(minutes=minutes)
    if not timedelta(minutes=1) <= duration <= MAX_DURATION:
        raise ValueError(_("Give a duration between 1 minute and 30 days."))
    with transaction.atomic():
        window = MaintenanceWindow.objects.create(
            name=name, starts_at=now, ends_at=now + duration, created_by=by, reason=reason, public=public
        )
        window.services.set(services)
        saved(window)
    return window


def end_now(window, *, now=None):
    """End a window's maintenance now (a one-off under way ends; a recurring one, or one not begun, is
    disabled) and page what waited."""
    now = now or timezone.now()
    with transaction.atomic():
        if window.form == "once" and window.starts_at < now < window.ends_at:
            window.ends_at = now
            window.save(update_fields=["ends_at", "updated_at"])
        else:  # recurring, or not begun yet: off
            window.enabled = False
            window.save(update_fields=["enabled", "updated_at"])
        saved(window)


def saved(window):
    """After a window is saved with its services: incidents waiting for it are looked at again (paged if it no
    longer silences them), and the status page's subscribers hear of public maintenance."""
    escalation.wake_waiting()
    planned.send(sender=MaintenanceWindow, window=window)
