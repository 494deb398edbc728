"""Incident events: what a change of an incident sets off in the apps above incidents.

A state change that other apps follow (a new incident, a severity change, a role
given, a resolution) writes an `IncidentEvent` row in its own transaction; the
worker (the composition root, `worker/`) hands due rows to its task and runs the
other apps' follow-ups for them. Incidents never calls those apps: it only says
what happened. A lost enqueue delays a follow-up by a tick; a failing follow-up
is retried, then written on the incident's timeline.
"""

import logging
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from incidents import timeline
from incidents.models import IncidentEvent
from project.queue import enqueue
from project.rows import insert_soon, tied_to

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_AFTER = (5, 15, 60, 300)  # seconds before the 2nd, 3rd … attempts
STALE_AFTER = timedelta(seconds=120)  # a run this old lost its worker
REENQUEUE_AFTER = timedelta(seconds=60)
TICK_BATCH = 500


def emit(incident, kind, **data):
    """Say that `kind` happened to the incident (inside the caller's transaction)."""
    return insert_soon([IncidentEvent(**tied_to("incident", incident), kind=kind, data=data)])[0]


def hand_out(task, *, now=None):
    """Give due, unhandled events to `task` (a dotted path taking an event id); returns how many."""
    now = now or timezone.now()
    not_handed = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER)
    due = IncidentEvent.objects.filter(not_handed, done_at=None, due_at__lte=now)
    handed = 0
    for pk in list(due.order_by("due_at", "pk").values_list("pk", flat=True)[:TICK_BATCH]):
        if due.filter(pk=pk).update(enqueued_at=now) == 1:
            if enqueue(task, pk) is None:
                IncidentEvent.objects.filter(pk=pk).update(enqueued_at=None)
                break  # the broker is down: the next tick tries again
            handed += 1
    return handed


def release():
    """Events handed out but not started go back to the ticker (a stopping worker's queue held them)."""
    return IncidentEvent.objects.filter(done_at=None, claimed_at=None, enqueued_at__isnull=False).update(
        enqueued_at=None
    )


def run(event_id, followers, *, now=None):
    """Run each follower (a callable taking the event) of a due event, each apart from the others.

    The event is claimed first, so two workers never run it at once. When all
    succeed it is done; when one fails, the event is run again later (followers
    are idempotent) and, after the last attempt, the failure goes on the
    incident's timeline. Returns True when the event is done.
    """
    now = now or timezone.now()
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_AFTER)
    claimed = IncidentEvent.objects.filter(free, pk=event_id, done_at=None).update(
        claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed != 1:
        return False
    event = IncidentEvent.objects.select_related("incident").get(pk=event_id)
    failures = []
    for follower in followers:
        try:
            follower(event)
        except Exception as exc:
            logger.exception("follow-up failed event=%s kind=%s follower=%s", event.pk, event.kind, follower.__name__)
            failures.append(f"{follower.__name__}: {exc.__class__.__name__}: {exc}"[:500])
    done = IncidentEvent.objects.filter(pk=event_id)
    if not failures:
        done.update(done_at=timezone.now(), claimed_at=None, error="")
        return True
    error = "\n".join(failures)
    if event.attempts < MAX_ATTEMPTS:
        delay = RETRY_AFTER[min(event.attempts, len(RETRY_AFTER)) - 1]
        done.update(due_at=timezone.now() + timedelta(seconds=delay), enqueued_at=None, claimed_at=None, error=error)
        return False
    timeline.record(
        event.incident,
        timeline.Kind.FOLLOW_UP,
        gettext_noop("What follows %(event)s did not work after %(attempts)s attempts: %(error)s"),
        params={"event": timeline.label(IncidentEvent.Kind(event.kind)), "attempts": event.attempts, "error": error},
        data={"event": event.pk, "kind": event.kind},
    )
    done.update(done_at=timezone.now(), claimed_at=None, error=error)
    return True
