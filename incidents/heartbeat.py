"""Heartbeat integrations: a job pings Piquet every period; silence opens an incident.

A ping is one UPDATE that moves the integration's `heartbeat_due_at` on. The
worker's ticker looks every second for heartbeats whose due time has passed
(one indexed query), claims each with a compare-and-set on
`heartbeat_missed` and opens its incident in the same transaction, so a
missed heartbeat is one incident however many workers tick. The next ping
resolves it.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from incidents import lifecycle, opening
from incidents.models import Alert, Integration, Severity
from project.clock import get_zone

logger = logging.getLogger(__name__)

TICK_BATCH = 50
SEVERITY = Severity.SEV2


def dedup_key(integration):
    """One incident per heartbeat: later misses join the open one."""
    return f"heartbeat:{integration.pk}"


def _due(integration, after):
    return after + timedelta(seconds=integration.period_seconds + integration.grace_seconds)


def ping(integration, *, now=None):
    """Record a ping; resolve the heartbeat's incident if it was missing. Returns when the next one is due.

    The usual ping is one UPDATE. `integration` may be a few seconds stale (Integration.by_key): the
    compare-and-set on `heartbeat_missed` reads the truth.
    """
    now = now or timezone.now()
    due = _due(integration, now)
    waiting = Integration.objects.filter(pk=integration.pk, heartbeat_missed=False)
    if waiting.update(last_ping_at=now, heartbeat_due_at=due) == 1:
        return due
    with transaction.atomic():
        back = Integration.objects.filter(pk=integration.pk, heartbeat_missed=True)
        if back.update(heartbeat_missed=False, last_ping_at=now, heartbeat_due_at=due) == 1:
            incident = opening.lock_open(integration.service, dedup_key(integration))
            if incident is not None:
                lifecycle.resolve(
                    incident, actor_name=integration.name, message=gettext_noop("Heartbeat received again"), params={}
                )
            logger.info("heartbeat back integration=%s", integration.pk)
        else:  # another ping brought it back meanwhile
            waiting.update(last_ping_at=now, heartbeat_due_at=due)
    return due


def title(integration, since):
    """The incident's title, in the installation's language, the time in the service's zone (named)."""
    zone = get_zone(integration.service.time_zone or settings.TIME_ZONE)
    with translation.override(settings.LANGUAGE_CODE):
        return gettext("No heartbeat from %(name)s since %(time)s") % {
            "name": integration.name,
            "time": f"{since.astimezone(zone):%Y-%m-%d %H:%M:%S} {zone.key}",
        }


def _missed(pk, now):
    """Claim one due heartbeat and open its incident, in one transaction; False if another tick claimed it."""
    with transaction.atomic():
        claimed = Integration.objects.filter(pk=pk, heartbeat_missed=False, heartbeat_due_at__lte=now)
        if claimed.update(heartbeat_missed=True, heartbeat_due_at=None) != 1:
            return False
        integration = Integration.objects.select_related("service").get(pk=pk)
        since = integration.last_ping_at or integration.created_at
        key, text = dedup_key(integration), title(integration, since)
        data = {"last_ping_at": integration.last_ping_at.isoformat() if integration.last_ping_at else None}
        incident, created = opening.open_or_join(
            service=integration.service,
            dedup_key=key,
            title=text,
            severity=SEVERITY,
            actor_name=integration.name,
            data=data,
            alert_count=1,
            at=now,
        )
        if not created:
            opening.record_alert_joined(incident, at=now)
        Alert.objects.create(
            integration=integration,
            incident=incident,
            dedup_key=key,
            action="trigger",
            summary=text[:1024],
            severity="error",
            source="heartbeat",
            payload=data,
            received_at=now,
        )
    logger.info("heartbeat missed integration=%s incident=%s", pk, incident.number)
    return True


def tick(now=None):
    """Open an incident for each enabled heartbeat whose ping is overdue. Returns how many."""
    now = now or timezone.now()
    due = Integration.objects.filter(
        heartbeat_due_at__lte=now, kind=Integration.Kind.HEARTBEAT, enabled=True, heartbeat_missed=False
    )
    opened = 0
    for pk in list(due.order_by().values_list("pk", flat=True)[:TICK_BATCH]):
        try:
            opened += _missed(pk, now)
        except DatabaseError:
            raise  # the database is away: the worker says so, and the next tick tries again
        except Exception:
            # One heartbeat that cannot be opened must not keep the others quiet; it is tried again next tick.
            logger.exception("heartbeat integration=%s: the incident could not be opened", pk)
    return opened


def state(integration, now=None):
    """What the admin says of a heartbeat: OK until when, or missing since when (None: not a heartbeat)."""
    if integration.kind != Integration.Kind.HEARTBEAT or integration.pk is None:
        return None
    now = now or timezone.now()
    since = integration.last_ping_at or integration.created_at
    if integration.heartbeat_missed or (integration.heartbeat_due_at and integration.heartbeat_due_at <= now):
        return {"ok": False, "since": since + timedelta(seconds=integration.period_seconds)}
    return {"ok": True, "before": integration.heartbeat_due_at or _due(integration, since)}
