"""The escalation engine: the call chain runs by itself, on time, exactly once.

The database holds the truth: an incident's `Escalation` row says which step
fired last and when the next one is due (`next_at`); every page and every
message is a row written before anything is sent, unique per incident, round,
step, person and rule. Tasks only act on those rows:

- `begin(incident)` writes the escalation row, due now, in the transaction
  that creates the incident: a lost enqueue delays the first page by a tick;
- `advance(escalation_id)` fires the due step(s) under the escalation's row lock
  and does nothing when the step is not due (any worker may run it, twice);
- the messages are rows of `PAGES`, an outbox of `delivery`: claimed with a
  compare-and-set, delivered, each attempt written on the timeline, retried
  with backoff;
- `tick(now)`, called every second by the worker's ticker, hands due
  escalations and messages to django-q2, and recovers messages whose worker
  died in the middle of sending.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from delivery.outbox import Outbox
from incidents import timeline
from incidents.messages import build_message
from incidents.models import (
    Escalation,
    Incident,
    Notification,
    Page,
    Status,
    TimelineEntry,
    Urgency,
    maintenance_at,
)
from people.models import ContactMethod, display_name, paging_methods, profile_of
from project.clock import get_zone
from project.queue import enqueue, enqueue_with
from project.rows import insert_soon
from project.templatetags.piquet_time import format_instant
from rotations.models import Schedule
from rotations.oncall import users_on_call

logger = logging.getLogger(__name__)

REENQUEUE_AFTER = timedelta(seconds=30)  # a handed-out task that has not run by then is handed out again
TICK_BATCH = 500
ADVANCE_TASK = "incidents.tasks.advance_escalation"


def _timeline(incident, kind, message, params, data=None):
    """An entry by Piquet: `message` is a msgid (gettext_noop) and `params` the values of its placeholders."""
    timeline.record(incident, kind, message, params=params, data=data)


# --- starting and stopping ------------------------------------------------------


def begin(incident, *, now=None, new=False):
    """Write the chain of a triggered incident whose service has a policy, due now (inside the caller's
    transaction); it is queued with that transaction, or handed out by the ticker if the enqueue is lost.
    Idempotent; `new=True` (an incident created by this transaction) skips looking for a chain."""
    now = now or timezone.now()
    policy_id = getattr(incident.service, "escalation_policy_id", None)
    if not policy_id or incident.status != Status.TRIGGERED:
        return None
    if not new and Escalation.objects.filter(incident=incident).exists():
        return None
    policy = incident.service.escalation_policy
    escalation = Escalation(
        incident=incident,
        policy_name=policy.name,
        # The chain as data, so later edits of the policy don't change a running escalation.
        snapshot=policy.snapshot(),
        next_at=now,
        started_at=now,
        enqueued_at=now,
    )
    # Queued once written (inside `project.rows.together()`, when the block ends: then it has its key).
    insert_soon(
        [escalation], then=lambda: enqueue_with(ADVANCE_TASK, escalation.pk, lost=lambda: _not_queued(escalation.pk))
    )
    _timeline(
        incident,
        timeline.Kind.ESCALATION,
        gettext_noop("Escalation policy %(policy)s started."),
        {"policy": policy.name},
        {"policy": policy.pk},
    )
    return escalation


def _not_queued(escalation_id):
    """The broker failed: the next tick of any worker hands the escalation out."""
    Escalation.objects.filter(pk=escalation_id).update(enqueued_at=None)


def start(incident_id, *, now=None, inline=False):
    """Start the chain of a triggered incident that has none yet, and fire its first step. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service").get(pk=incident_id)
        escalation = begin(incident, now=now)
    if escalation is not None:
        advance(escalation.pk, now=now, inline=inline)
    return escalation


def stop(incident, *, state):
    """Stop the chain and cancel pending pages (inside the caller's transaction)."""
    Escalation.objects.filter(incident=incident, state=Escalation.State.RUNNING).update(state=state, next_at=None)
    cancelled = Notification.objects.filter(
        incident=incident, purpose=Notification.Purpose.PAGE, status=Notification.Status.PENDING
    ).update(status=Notification.Status.CANCELLED)
    if cancelled:
        logger.info("escalation stopped incident=%s state=%s cancelled=%s", incident.number, state, cancelled)


def notify_paged_people(incident, *, purpose, now=None):
    """Tell everyone paged for the incident that it was acknowledged or resolved (per their preference)."""
    now = now or timezone.now()
    wanted = "notify_on_acknowledge" if purpose == Notification.Purpose.ACKNOWLEDGED else "notify_on_resolve"
    users = {page.user for page in Page.objects.filter(incident=incident).select_related("user")}
    created = []
    for user in users:
        if not getattr(profile_of(user), wanted):
            continue
        for method, _delay in paging_methods(user, immediate_only=True):
            created += _create_notification(
                incident=incident, page=None, purpose=purpose, user=user, method=method, delay=0, due=now, now=now
            )
    PAGES.enqueue_on_commit(created)


# --- firing steps ---------------------------------------------------------------


def advance(escalation_id, *, now=None, force=False, by=None, inline=False):
    """Fire the next step if it is due (or now, with `force`). Safe to run twice or late.

    With `inline` (in a worker task), the first message due now is sent by this
    call right after commit, saving a trip through the queue; the others are
    queued so that they go out in parallel.
    """
    now = now or timezone.now()
    created = []
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update().filter(pk=escalation_id).first()
        if escalation is None or escalation.state != Escalation.State.RUNNING:
            return False
        incident = Incident.objects.select_related("service").get(pk=escalation.incident_id)
        if incident.status != Status.TRIGGERED:
            return False
        if not force and (escalation.next_at is None or escalation.next_at > now):
            return False
        if not force and _waits(incident, escalation, now):
            return True
        steps = escalation.steps
        guard = len(steps) * (escalation.repeat + 1) + 1
        for _attempt in range(guard):
            position = _next_position(escalation)
            if position is None:
                escalation.state = Escalation.State.EXHAUSTED
                escalation.next_at = None
                _timeline(
                    incident,
                    timeline.Kind.ESCALATION,
                    gettext_noop("The escalation chain is exhausted: nobody acknowledged after %(rounds)s round(s)."),
                    {"rounds": escalation.repeat + 1},
                )
                break
            escalation.round, escalation.step = position
            step = steps[escalation.step]
            problems = []
            users = resolve_targets(step.get("targets", []), at=now, problems=problems)
            where = {"step": escalation.step + 1, "round": escalation.round + 1}
            for problem, facts in problems:
                _timeline(
                    incident,
                    timeline.Kind.ESCALATION,
                    gettext_noop("Step %(step)s (round %(round)s): %(problem)s"),
                    {**where, "problem": timeline.translated(problem, facts)},
                    {"round": escalation.round, "step": escalation.step, "problem": True},
                )
            if not users:
                _timeline(
                    incident,
                    timeline.Kind.ESCALATION,
                    gettext_noop("Step %(step)s (round %(round)s) has nobody to page; moving on."),
                    where,
                    {"round": escalation.round, "step": escalation.step},
                )
                continue
            immediate, reachable = _page(incident, escalation, users, now)
            created += immediate
            if (
                not reachable
                and not Notification.objects.filter(
                    incident=incident, round=escalation.round, step=escalation.step
                ).exists()
            ):
                _timeline(
                    incident,
                    timeline.Kind.ESCALATION,
                    gettext_noop("Nobody of step %(step)s (round %(round)s) can be reached; moving on."),
                    where,
                    {"round": escalation.round, "step": escalation.step},
                )
                continue
            names = ", ".join(display_name(user) for user, _via in users)
            if by:
                paged = gettext_noop("Step %(step)s (round %(round)s) paged %(names)s. Escalated by %(who)s.")
                facts = {**where, "names": names, "who": by if isinstance(by, str) else display_name(by)}
            else:
                paged = gettext_noop("Step %(step)s (round %(round)s) paged %(names)s.")
                facts = {**where, "names": names}
            _timeline(
                incident,
                timeline.Kind.ESCALATION,
                paged,
                facts,
                {"round": escalation.round, "step": escalation.step, "users": [u.pk for u, _via in users]},
            )
            escalation.next_at = now + timedelta(minutes=int(step.get("escalate_after_minutes", 1)))
            break
        escalation.enqueued_at = None
        escalation.save(update_fields=["state", "round", "step", "next_at", "enqueued_at"])
    if inline and created:
        PAGES.enqueue_on_commit(created[1:])
        transaction.on_commit(lambda: send(created[0]))
    else:
        PAGES.enqueue_on_commit(created)
    logger.info(
        "escalation advanced incident=%s round=%s step=%s state=%s next_at=%s",
        incident.number,
        escalation.round,
        escalation.step,
        escalation.state,
        escalation.next_at,
    )
    return True


def reconsider(incident, *, now=None):
    """The incident's urgency changed: a chain waiting for support hours fires now if it became high urgency;
    a low-urgency one not yet paged waits (the next step checks). Inside the caller's transaction."""
    now = now or timezone.now()
    if incident.urgency != Urgency.HIGH:
        return
    hurried = Escalation.objects.filter(incident=incident, state=Escalation.State.RUNNING, waiting=True).update(
        next_at=now, waiting=False, enqueued_at=now
    )
    if hurried:
        pk = Escalation.objects.filter(incident=incident).values_list("pk", flat=True).first()
        enqueue_with(ADVANCE_TASK, pk, lost=lambda: _not_queued(pk))


def wake_waiting(*, now=None):
    """Chains put off for maintenance or support hours are due now: the next tick looks again (and puts them
    off again if they still must wait). Called when a maintenance window is saved, ended or deleted."""
    now = now or timezone.now()
    return Escalation.objects.filter(state=Escalation.State.RUNNING, waiting=True).update(next_at=now, enqueued_at=None)


def _last_wait(incident):
    entry = (
        TimelineEntry.objects.filter(incident=incident, kind=timeline.Kind.ESCALATION, data__has_key="waits_until")
        .order_by("-at", "-id")
        .values_list("data", flat=True)
        .first()
    )
    return entry and entry.get("waits_until")


def _waits(incident, escalation, now):
    """Nobody is paged during a maintenance window of the service, nor for a low-urgency incident outside its
    support hours: the step is put off until the window ends or support hours begin (and the timeline says
    so). Inside the escalation's row lock."""
    service = incident.service
    try:
        window, occurrence = maintenance_at(service, now)
        if window is not None:
            until, zone = occurrence.end, window.zone
            message = gettext_noop("Maintenance window %(name)s: nobody is paged until %(at)s.")
            params = {"name": window.name}
        else:
            until = service.support_hours_begin(now) if incident.urgency == Urgency.LOW else None
            zone = get_zone(service.time_zone or settings.TIME_ZONE)
            message = gettext_noop("Low urgency, outside support hours: nobody is paged until %(at)s.")
            params = {}
    except Exception as exc:  # a window or support hours that cannot be read never keep anyone from being paged
        logger.exception("maintenance or support hours unreadable incident=%s service=%s", incident.number, service)
        _timeline(
            incident,
            timeline.Kind.ESCALATION,
            gettext_noop(
                "The maintenance windows or support hours of this service cannot be read (%(error)s): paging."
            ),
            {"error": type(exc).__name__},
            {"quiet_error": True},
        )
        window, until = None, None
    if until is None:
        if escalation.waiting:
            escalation.waiting = False
            Escalation.objects.filter(pk=escalation.pk).update(waiting=False)
        return False
    with timezone.override(zone):
        params["at"] = format_instant(until)
    if not escalation.waiting or _last_wait(incident) != until.isoformat():
        _timeline(incident, timeline.Kind.ESCALATION, message, params, {"waits_until": until.isoformat()})
    Escalation.objects.filter(pk=escalation.pk).update(next_at=until, enqueued_at=None, waiting=True)
    logger.info("escalation waits incident=%s until=%s maintenance=%s", incident.number, until.isoformat(), window)
    return True


def _next_position(escalation):
    steps = escalation.steps
    if not steps:
        return None
    round_, step = escalation.round, escalation.step + 1
    if step >= len(steps):
        round_, step = round_ + 1, 0
    if round_ > escalation.repeat:
        return None
    return round_, step


def resolve_targets(targets, *, at, problems=None):
    """People named by a step's targets at an instant: users as such, schedules by who is on call.

    A target that cannot be resolved (a deleted person or schedule, a schedule
    whose layers cannot be computed) is skipped, and a sentence saying why (a
    msgid and its parameters) is added to `problems`: the other targets are
    paged all the same.
    """
    problems = [] if problems is None else problems
    found = []
    seen = set()
    user_ids = [t.get("id") for t in targets if t.get("type") == "user"]
    users = get_user_model().objects.in_bulk([pk for pk in user_ids if isinstance(pk, int)])
    for target in targets:
        kind, pk = target.get("type"), target.get("id")
        if kind == "user":
            candidates = [users[pk]] if pk in users else []
            if not candidates:
                problems.append((gettext_noop("Person #%(id)s of this step no longer exists."), {"id": pk}))
            via = "user"
        elif kind == "schedule":
            try:
                candidates = _on_call(pk, at, problems)
            except Exception as exc:
                logger.exception("escalation target failed schedule=%s", pk)
                problems.append(
                    (
                        gettext_noop("Could not tell who is on call for schedule #%(id)s: %(error)s"),
                        {"id": pk, "error": f"{exc.__class__.__name__}: {exc}"[:300]},
                    )
                )
                continue
            via = f"schedule:{pk}"
        else:
            continue
        for user in candidates:
            if user.pk not in seen and user.is_active:
                seen.add(user.pk)
                found.append((user, via))
    return found


def _on_call(schedule_id, at, problems):
    schedule = Schedule.objects.filter(pk=schedule_id).first()
    if schedule is None:
        problems.append((gettext_noop("Schedule #%(id)s of this step no longer exists."), {"id": schedule_id}))
        return []
    return list(users_on_call(schedule, at))


def _page(incident, escalation, users, now):
    """Page each person by their rules; return (ids of the messages due now, how many messages were written)."""
    created = []
    written = 0
    for user, via in users:
        page, page_created = Page.objects.get_or_create(
            incident=incident,
            round=escalation.round,
            step=escalation.step,
            user=user,
            defaults={"via": via, "created_at": now},
        )
        if not page_created:
            continue
        methods = paging_methods(user, urgency=incident.urgency)
        if not methods:
            _timeline(
                incident,
                timeline.Kind.DELIVERY,
                gettext_noop("%(name)s has no way to be reached (no contact method, no e-mail)."),
                {"name": display_name(user)},
            )
        for method, delay in methods:
            written += 1
            created += _create_notification(
                incident=incident,
                page=page,
                purpose=Notification.Purpose.PAGE,
                user=user,
                method=method,
                delay=delay,
                due=now + timedelta(minutes=delay),
                now=now,
                round_=escalation.round,
                step=escalation.step,
            )
    return created, written


def _create_notification(*, incident, page, purpose, user, method, delay, due, now, round_=-1, step=-1):
    immediate = due <= now
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                incident=incident,
                page=page,
                purpose=purpose,
                round=round_,
                step=step,
                user=user,
                contact_method=method,
                delay_minutes=delay,
                due_at=due,
                enqueued_at=now if immediate else None,
            )
    except IntegrityError:
        return []
    return [notification.pk] if immediate else []


# --- sending ----------------------------------------------------------------------


def _prepare(notification, cache):
    """What to send where, or None when a page is no longer wanted (the incident is not triggered any more)."""
    if notification.purpose == Notification.Purpose.PAGE and notification.incident.status != Status.TRIGGERED:
        return None
    if notification.responder_request_id and (
        notification.incident.status == Status.RESOLVED or not notification.responder_request.is_open
    ):
        return None  # answered already, or the incident is over
    return notification.contact_method, build_message(notification)


def _recorded(outcomes):
    """Every attempt on the incident's timeline, in the transaction that records it."""
    for outcome in outcomes:
        notification, result = outcome.row, outcome.result
        if result is None:
            continue
        facts = {
            "name": display_name(notification.user),
            "method": timeline.label(ContactMethod.Kind(notification.contact_method.kind)),
        }
        if outcome.status == Notification.Status.SENT:
            message = gettext_noop("%(purpose)s sent to %(name)s by %(method)s.")
            facts["purpose"] = timeline.label(Notification.Purpose(notification.purpose))
            data = {"notification": notification.pk, "attempt": notification.attempts}
        elif outcome.status == Notification.Status.PENDING:
            message = gettext_noop(
                "Could not reach %(name)s by %(method)s (attempt %(attempt)s); retrying in %(delay)s s."
            )
            facts.update(attempt=notification.attempts, delay=outcome.retry_in)
            data = {"notification": notification.pk, "error": result.error[:500]}
        else:
            message = gettext_noop("Could not reach %(name)s by %(method)s after %(attempts)s attempts.")
            facts["attempts"] = notification.attempts
            data = {"notification": notification.pk, "error": result.error[:500]}
        _timeline(notification.incident, timeline.Kind.DELIVERY, message, facts, data)
        if outcome.status == Notification.Status.FAILED and notification.purpose == Notification.Purpose.PAGE:
            _move_on_if_the_step_failed(notification)


def _move_on_if_the_step_failed(notification):
    """When every message of a step has failed for good, its next step is due now, not at the timeout."""
    step = Notification.objects.filter(
        incident_id=notification.incident_id, round=notification.round, step=notification.step
    )
    if step.exclude(pk=notification.pk).exclude(status=Notification.Status.FAILED).exists():
        return
    moved = Escalation.objects.filter(
        incident_id=notification.incident_id,
        state=Escalation.State.RUNNING,
        round=notification.round,
        step=notification.step,
    ).update(next_at=timezone.now(), enqueued_at=None)
    if moved:
        _timeline(
            notification.incident,
            timeline.Kind.ESCALATION,
            gettext_noop("Every contact method of step %(step)s (round %(round)s) failed; escalating now."),
            {"step": notification.step + 1, "round": notification.round + 1},
            {"round": notification.round, "step": notification.step},
        )


# One page per task, so that a slow provider never holds back another person's page.
PAGES = Outbox(
    Notification,
    task="incidents.tasks.send_notifications",
    prepare=_prepare,
    recorded=_recorded,
    select_related=("incident", "incident__service", "user", "contact_method", "responder_request"),
    batch=1,
    claim_chunk=1,
    reenqueue_after=REENQUEUE_AFTER,
    tick_batch=TICK_BATCH,
)


def send(notification_id, *, now=None):
    """Deliver one due message, once. Returns True when this call sent it."""
    return PAGES.send([notification_id], now=now) == 1


# --- the ticker -------------------------------------------------------------------


def tick(now=None):
    """Hand due work to the task queue; called every second by the worker's ticker."""
    now = now or timezone.now()
    handed = 0
    not_handed = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER)
    due = Escalation.objects.filter(not_handed, state=Escalation.State.RUNNING, next_at__lte=now)
    for pk in list(due.values_list("pk", flat=True)[:TICK_BATCH]):
        if due.filter(pk=pk).update(enqueued_at=now) == 1:
            if enqueue(ADVANCE_TASK, pk) is None:
                Escalation.objects.filter(pk=pk).update(enqueued_at=None)
                break  # the broker is down: try again next tick
            handed += 1
    return handed + PAGES.recover(now)


def release():
    """Escalations handed out but not advanced go back to the ticker (a stopping worker's queue held them)."""
    return Escalation.objects.filter(state=Escalation.State.RUNNING, enqueued_at__isnull=False).update(enqueued_at=None)


RETRY_FAILED_STEP_AFTER = timedelta(seconds=60)


def postpone_after_failure(escalation_id, *, now=None):
    """A step that raised is tried again in a minute, and its incident's timeline says so."""
    now = now or timezone.now()
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update().filter(pk=escalation_id).first()
        if escalation is None or escalation.state != Escalation.State.RUNNING:
            return
        Escalation.objects.filter(pk=escalation_id).update(next_at=now + RETRY_FAILED_STEP_AFTER, enqueued_at=None)
        _timeline(
            escalation.incident,
            timeline.Kind.ESCALATION,
            gettext_noop("The next step could not be fired because of an error; trying again in a minute."),
            {},
            {"error": True},
        )
