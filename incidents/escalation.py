"""The escalation engine: the call chain runs by itself, on time, exactly once.

The database holds the truth: an incident's `Escalation` row says which step
fired last and when the next one is due (`next_at`); every page and every
message is a row written before anything is sent, unique per incident, round,
step, person and rule. Tasks only act on those rows:

- `advance(escalation_id)` fires the due step(s) under the escalation's row lock
  and does nothing when the step is not due (any worker may run it, twice);
- `send(notification_id)` claims a pending message with a compare-and-set and
  delivers it, retrying a provider failure with backoff;
- `tick(now)`, called every second by the worker's ticker, hands due
  escalations and messages to django-q2, and recovers messages whose worker
  died in the middle of sending.
"""

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from comms.delivery import STALE_SENDING_AFTER, retry_delay
from incidents.models import Escalation, Incident, Notification, Page, Status, TimelineEntry
from project.queue import enqueue

logger = logging.getLogger(__name__)

REENQUEUE_AFTER = timedelta(seconds=30)  # a handed-out task that has not run by then is handed out again
TICK_BATCH = 500


def _timeline(incident, kind, message, data=None):
    TimelineEntry.objects.create(incident=incident, kind=kind, message=message, actor_name="Piquet", data=data or {})


def snapshot_of(policy):
    """The chain as data, so later edits of the policy don't change a running escalation."""
    return policy.snapshot()


# --- starting and stopping ------------------------------------------------------


def start(incident_id, *, now=None, inline=False):
    """Start the chain of a triggered incident whose service has a policy. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_related("service").get(pk=incident_id)
        if incident.status != Status.TRIGGERED or Escalation.objects.filter(incident=incident).exists():
            return None
        policy = _policy_of(incident.service)
        if policy is None:
            return None
        escalation = Escalation.objects.create(
            incident=incident,
            policy_name=policy.name,
            snapshot=snapshot_of(policy),
            next_at=now,
            started_at=now,
        )
        _timeline(
            incident,
            "escalation",
            _("Escalation policy %(policy)s started.") % {"policy": policy.name},
            {"policy": policy.pk},
        )
    advance(escalation.pk, now=now, inline=inline)
    return escalation


def _policy_of(service):
    policy_id = getattr(service, "escalation_policy_id", None)
    if not policy_id:
        return None
    return service.escalation_policy


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
    from comms.models import profile_of

    now = now or timezone.now()
    wanted = "notify_on_acknowledge" if purpose == Notification.Purpose.ACKNOWLEDGED else "notify_on_resolve"
    users = {page.user for page in Page.objects.filter(incident=incident).select_related("user")}
    created = []
    for user in users:
        if not getattr(profile_of(user), wanted):
            continue
        for method, _delay in _methods_for(user, immediate_only=True):
            created += _create_notification(
                incident=incident, page=None, purpose=purpose, user=user, method=method, delay=0, due=now, now=now
            )
    _enqueue_on_commit(created)


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
        incident = Incident.objects.get(pk=escalation.incident_id)
        if incident.status != Status.TRIGGERED:
            return False
        if not force and (escalation.next_at is None or escalation.next_at > now):
            return False
        steps = escalation.steps
        guard = len(steps) * (escalation.repeat + 1) + 1
        for _attempt in range(guard):
            position = _next_position(escalation)
            if position is None:
                escalation.state = Escalation.State.EXHAUSTED
                escalation.next_at = None
                _timeline(
                    incident,
                    "escalation",
                    _("The escalation chain is exhausted: nobody acknowledged after %(rounds)s round(s).")
                    % {"rounds": escalation.repeat + 1},
                )
                break
            escalation.round, escalation.step = position
            step = steps[escalation.step]
            users = resolve_targets(step.get("targets", []), at=now)
            label = {"step": escalation.step + 1, "round": escalation.round + 1}
            if not users:
                _timeline(
                    incident,
                    "escalation",
                    _("Step %(step)s (round %(round)s) has nobody to page; moving on.") % label,
                    {"round": escalation.round, "step": escalation.step},
                )
                continue
            created += _page(incident, escalation, users, now)
            names = ", ".join(user.get_full_name() or user.get_username() for user, _via in users)
            _timeline(
                incident,
                "escalation",
                (_("Step %(step)s (round %(round)s) paged %(names)s.") % {**label, "names": names})
                + (" " + _("Escalated by %(who)s.") % {"who": by} if by else ""),
                {"round": escalation.round, "step": escalation.step, "users": [u.pk for u, _via in users]},
            )
            escalation.next_at = now + timedelta(minutes=int(step.get("escalate_after_minutes", 1)))
            break
        escalation.enqueued_at = None
        escalation.save(update_fields=["state", "round", "step", "next_at", "enqueued_at"])
    if inline and created:
        _enqueue_on_commit(created[1:])
        transaction.on_commit(lambda: send(created[0]))
    else:
        _enqueue_on_commit(created)
    logger.info(
        "escalation advanced incident=%s round=%s step=%s state=%s next_at=%s",
        incident.number,
        escalation.round,
        escalation.step,
        escalation.state,
        escalation.next_at,
    )
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


def resolve_targets(targets, *, at):
    """People named by a step's targets at an instant: users as such, schedules by who is on call."""
    User = get_user_model()
    found = []
    seen = set()
    user_ids = [t["id"] for t in targets if t.get("type") == "user"]
    users = User.objects.in_bulk(user_ids)
    for target in targets:
        if target.get("type") == "user":
            candidates = [users.get(target["id"])] if users.get(target["id"]) else []
            via = "user"
        elif target.get("type") == "schedule":
            candidates = _on_call(target["id"], at)
            via = f"schedule:{target['id']}"
        else:
            continue
        for user in candidates:
            if user.pk not in seen and user.is_active:
                seen.add(user.pk)
                found.append((user, via))
    return found


def _on_call(schedule_id, at):
    from rotations.models import Schedule
    from rotations.oncall import users_on_call

    schedule = Schedule.objects.filter(pk=schedule_id).first()
    if schedule is None:
        return []
    return list(users_on_call(schedule, at))


def _page(incident, escalation, users, now):
    created = []
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
        methods = _methods_for(user)
        if not methods:
            _timeline(
                incident,
                "delivery",
                _("%(name)s has no way to be reached (no contact method, no e-mail).")
                % {"name": user.get_full_name() or user.get_username()},
            )
        for method, delay in methods:
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
    return created


def _methods_for(user, *, immediate_only=False):
    """(contact method, delay) pairs from the person's rules; e-mail at once when they have none."""
    from comms.models import ContactMethod, NotificationRule

    rules = NotificationRule.objects.filter(user=user, contact_method__enabled=True).select_related("contact_method")
    pairs = [(rule.contact_method, rule.delay_minutes) for rule in rules]
    if immediate_only:
        pairs = [(m, d) for m, d in pairs if d == 0]
    if pairs:
        return pairs
    method = ContactMethod.objects.filter(user=user, kind=ContactMethod.Kind.EMAIL, enabled=True).first()
    if method is None and user.email:
        method = ContactMethod.objects.create(user=user, kind=ContactMethod.Kind.EMAIL, address=user.email)
    return [(method, 0)] if method else []


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


def _enqueue_on_commit(notification_ids):
    for notification_id in notification_ids:
        transaction.on_commit(lambda pk=notification_id: enqueue("incidents.tasks.send_notification", pk))


# --- sending ----------------------------------------------------------------------


def send(notification_id, *, now=None):
    """Deliver one due message, once. Returns True when this call sent it."""
    from comms.delivery import deliver
    from incidents.messages import build_message

    now = now or timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.PENDING, due_at__lte=now
    ).update(status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        return False
    notification = Notification.objects.select_related("incident", "user", "contact_method", "incident__service").get(
        pk=notification_id
    )
    incident = notification.incident
    if notification.purpose == Notification.Purpose.PAGE and incident.status != Status.TRIGGERED:
        Notification.objects.filter(pk=notification_id).update(status=Notification.Status.CANCELLED)
        return False
    result = deliver(notification.contact_method, build_message(notification))
    who = notification.user.get_full_name() or notification.user.get_username()
    method = notification.contact_method.get_kind_display()
    with transaction.atomic():
        if result.ok:
            Notification.objects.filter(pk=notification_id).update(
                status=Notification.Status.SENT,
                sent_at=timezone.now(),
                provider_response=result.response[:2000],
                error="",
            )
            _timeline(
                incident,
                "delivery",
                _("%(purpose)s sent to %(name)s by %(method)s.")
                % {"purpose": notification.get_purpose_display(), "name": who, "method": method},
                {"notification": notification.pk, "attempt": notification.attempts},
            )
        elif (delay := retry_delay(notification.attempts)) is not None:
            Notification.objects.filter(pk=notification_id).update(
                status=Notification.Status.PENDING,
                due_at=timezone.now() + timedelta(seconds=delay),
                enqueued_at=None,
                error=result.error[:2000],
                provider_response=result.response[:2000],
            )
            _timeline(
                incident,
                "delivery",
                _("Could not reach %(name)s by %(method)s (attempt %(attempt)s); retrying in %(delay)s s.")
                % {"name": who, "method": method, "attempt": notification.attempts, "delay": delay},
                {"notification": notification.pk, "error": result.error[:500]},
            )
        else:
            Notification.objects.filter(pk=notification_id).update(
                status=Notification.Status.FAILED,
                error=result.error[:2000],
                provider_response=result.response[:2000],
            )
            _timeline(
                incident,
                "delivery",
                _("Could not reach %(name)s by %(method)s after %(attempts)s attempts.")
                % {"name": who, "method": method, "attempts": notification.attempts},
                {"notification": notification.pk, "error": result.error[:500]},
            )
    return result.ok


# --- the ticker -------------------------------------------------------------------


def tick(now=None):
    """Hand due work to the task queue; called every second by the worker's ticker."""
    now = now or timezone.now()
    handed = 0
    not_handed = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER)
    due = Escalation.objects.filter(not_handed, state=Escalation.State.RUNNING, next_at__lte=now)
    for pk in list(due.values_list("pk", flat=True)[:TICK_BATCH]):
        if due.filter(pk=pk).update(enqueued_at=now) == 1:
            enqueue("incidents.tasks.advance_escalation", pk)
            handed += 1
    # A message whose worker died mid-send goes back to pending: better twice than never.
    Notification.objects.filter(status=Notification.Status.SENDING, claimed_at__lt=now - STALE_SENDING_AFTER).update(
        status=Notification.Status.PENDING, enqueued_at=None
    )
    pending = Notification.objects.filter(not_handed, status=Notification.Status.PENDING, due_at__lte=now)
    for pk in list(pending.values_list("pk", flat=True)[:TICK_BATCH]):
        if pending.filter(pk=pk).update(enqueued_at=now) == 1:
            enqueue("incidents.tasks.send_notification", pk)
            handed += 1
    return handed
