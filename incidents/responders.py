"""Calling in more responders: people, whoever is on call for a schedule, or an escalation policy.

Each person asked gets a `ResponderRequest` and is paged by their own notification rules, through the same
outbox as pages (`escalation.PAGES`): delivery, retries and the timeline work the same. They answer join or
decline by the link of the message, an SMS reply (`JOIN 42`, `DECLINE 42`) or a key press in the call.

An escalation policy asked for help runs its own chain for the request, as PagerDuty's "add responders"
does: its first step is paged now, and each next step when the step's minutes have passed and nobody it asked
has joined (a step whose people all declined moves on at once). It stops when someone it asked joins, when the
incident is resolved, or after its last step (it does not repeat). It is separate from the incident's own call
chain, which stops on acknowledgement: an acknowledged incident still gathers help.
"""

import logging
from datetime import timedelta
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents import timeline
from incidents.escalation import PAGES, resolve_targets
from incidents.models import (
    Incident,
    Notification,
    ResponderEscalation,
    ResponderRequest,
    Status,
)
from people.models import display_name, paging_methods
from project.api import ConflictError
from project.queue import enqueue

logger = logging.getLogger(__name__)

ADVANCE_TASK = "incidents.tasks.advance_responder_escalation"
REENQUEUE_AFTER = timedelta(seconds=30)
TICK_BATCH = 200
State = ResponderRequest.State
# How an answer came (shown on the timeline, in the reader's language).
BY_LINK = gettext_noop("by link")
BY_SMS = gettext_noop("by SMS reply")
BY_VOICE = gettext_noop("by phone")
IN_PIQUET = gettext_noop("in Piquet")


class AnswerError(ConflictError):
    """The request cannot take this answer (it was answered already)."""


class Added(NamedTuple):
    """What `add` did: the requests written, and the sentences saying who could not be asked."""

    requests: list
    nobody: list


def _record(incident, message, params, *, by=None, data=None, at=None):
    timeline.record(incident, timeline.Kind.RESPONDERS, message, params=params, by=by, data=data, at=at)


def add(incident, *, by, users=(), schedules=(), policies=(), message="", now=None):
    """Ask people to join the incident's response (see the module): `users`, whoever is on call now for
    `schedules`, and the chains of `policies`. A person already asked and not answered yet is not asked again.
    Returns `Added`; raises ConflictError for a resolved incident."""
    now = now or timezone.now()
    created, nobody, immediate = [], [], []
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service").get(pk=incident.pk)
        if incident.status == Status.RESOLVED:
            raise ConflictError(
                _("Incident #%(number)s is resolved: nobody can be called in.") % {"number": incident.number}
            )
        for user in users:
            _ask(incident, user, by=by, message=message, via="", now=now, created=created, immediate=immediate)
        for schedule in schedules:
            # Like a step of a call chain: a schedule that cannot be computed is said, never an error.
            problems = []
            targets = [{"type": "schedule", "id": schedule.pk}]
            on_call = [user for user, _via in resolve_targets(targets, at=now, problems=problems)]
            for problem, facts in problems:
                _record(
                    incident,
                    gettext_noop("Asking whoever is on call for %(name)s: %(problem)s"),
                    {"name": schedule.name, "problem": timeline.translated(problem, facts)},
                    data={"schedule": schedule.pk, "problem": True},
                    at=now,
                )
            if not on_call:
                nobody.append(_("Nobody is on call for %(name)s.") % {"name": schedule.name})
                _record(
                    incident,
                    gettext_noop("Nobody is on call for %(name)s: nobody was asked from it."),
                    {"name": schedule.name},
                    by=by,
                    data={"schedule": schedule.pk, "nobody": True},
                    at=now,
                )
            via = f"schedule:{schedule.name}"
            for user in on_call:
                _ask(incident, user, by=by, message=message, via=via, now=now, created=created, immediate=immediate)
        for policy in policies:
            run = ResponderEscalation.objects.create(
                incident=incident,
                policy_name=policy.name,
                snapshot=policy.snapshot(),
                requested_by=by,
                message=message,
                created_at=now,
            )
            _record(
                incident,
                gettext_noop("%(who)s asked escalation policy %(policy)s for a responder."),
                {"who": display_name(by) if by else timeline.SYSTEM, "policy": policy.name},
                by=by,
                data={"policy": policy.pk, "responder_escalation": run.pk},
                at=now,
            )
            if not _fire(incident, run, now=now, created=created, immediate=immediate):
                nobody.append(_("Nobody of escalation policy %(name)s can be asked.") % {"name": policy.name})
    PAGES.enqueue_on_commit(immediate)
    logger.info("responders asked incident=%s requests=%s nobody=%s", incident.number, len(created), len(nobody))
    return Added(created, nobody)


def _ask(incident, user, *, by, message, via, now, created, immediate, escalation=None):
    """One person asked (inside the caller's transaction); nothing when they have an open request already."""
    try:
        with transaction.atomic():
            request = ResponderRequest.objects.create(
                incident=incident,
                user=user,
                requested_by=by,
                message=message,
                via=via[:200],  # "schedule:" and a name of up to 200 characters
                escalation=escalation,
                created_at=now,
            )
    except IntegrityError:
        return None  # asked already, not answered yet
    created.append(request)
    params = {"who": display_name(by) if by else timeline.SYSTEM, "name": display_name(user)}
    if escalation is not None:
        params["via"] = escalation.policy_name
        if message:
            text = gettext_noop("%(who)s asked %(name)s to join the response (escalation policy %(via)s): %(message)s")
        else:
            text = gettext_noop("%(who)s asked %(name)s to join the response (escalation policy %(via)s).")
    elif via:
        params["via"] = via.split(":", 1)[1]
        if message:
            text = gettext_noop("%(who)s asked %(name)s to join the response (on call for %(via)s): %(message)s")
        else:
            text = gettext_noop("%(who)s asked %(name)s to join the response (on call for %(via)s).")
    elif message:
        text = gettext_noop("%(who)s asked %(name)s to join the response: %(message)s")
    else:
        text = gettext_noop("%(who)s asked %(name)s to join the response.")
    if message:
        params["message"] = message
    _record(incident, text, params, by=by, data={"request": request.pk, "user": user.pk}, at=now)
    methods = paging_methods(user, urgency=incident.urgency)
    if not methods:
        _record(
            incident,
            gettext_noop("%(name)s has no way to be reached (no contact method, no e-mail)."),
            {"name": display_name(user)},
            data={"request": request.pk},
            at=now,
        )
    for method, delay in methods:
        due = now + timedelta(minutes=delay)
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    incident=incident,
                    responder_request=request,
                    purpose=Notification.Purpose.RESPONDER_REQUEST,
                    user=user,
                    contact_method=method,
                    delay_minutes=delay,
                    due_at=due,
                    enqueued_at=now if due <= now else None,
                )
        except IntegrityError:
            continue
        if due <= now:
            immediate.append(notification.pk)
    return request


def _fire(incident, run, *, now, created, immediate):
    """Fire the next step of a responder escalation that has someone to ask (inside the caller's transaction,
    the run locked or new); returns whether someone was asked. Steps with nobody are passed over."""
    steps = run.steps
    while run.step + 1 < len(steps):
        run.step += 1
        step = steps[run.step]
        problems = []
        users = [user for user, _via in resolve_targets(step.get("targets", []), at=now, problems=problems)]
        asked = [
            request
            for user in users
            if (
                request := _ask(
                    incident,
                    user,
                    by=run.requested_by,
                    message=run.message,
                    via=f"policy:{run.policy_name}",
                    now=now,
                    created=created,
                    immediate=immediate,
                    escalation=run,
                )
            )
            is not None
        ]
        if asked:
            run.next_at = now + timedelta(minutes=int(step.get("escalate_after_minutes", 1)))
            run.enqueued_at = None
            run.save(update_fields=["step", "next_at", "enqueued_at", "state"])
            return True
        _record(
            incident,
            gettext_noop("Escalation policy %(policy)s, step %(step)s: nobody on call to ask; moving on."),
            {"policy": run.policy_name, "step": run.step + 1},
            data={"responder_escalation": run.pk, "step": run.step, "nobody": True},
            at=now,
        )
    run.state, run.next_at, run.enqueued_at = ResponderEscalation.State.EXHAUSTED, None, None
    run.save(update_fields=["step", "next_at", "enqueued_at", "state"])
    _record(
        incident,
        gettext_noop("Escalation policy %(policy)s has nobody more to ask: nobody of it joined."),
        {"policy": run.policy_name},
        data={"responder_escalation": run.pk, "exhausted": True},
        at=now,
    )
    return False


def advance(run_id, *, now=None):
    """Fire the next step of a responder escalation if it is due and still wanted. Safe to run twice or late."""
    now = now or timezone.now()
    created, immediate = [], []
    with transaction.atomic():
        run = ResponderEscalation.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.state != ResponderEscalation.State.RUNNING:
            return False
        if run.next_at is None or run.next_at > now:
            ResponderEscalation.objects.filter(pk=run_id).update(enqueued_at=None)
            return False
        incident = Incident.objects.select_related("service").get(pk=run.incident_id)
        if incident.status == Status.RESOLVED:
            ResponderEscalation.objects.filter(pk=run_id).update(
                state=ResponderEscalation.State.RESOLVED, next_at=None, enqueued_at=None
            )
            return False
        _fire(incident, run, now=now, created=created, immediate=immediate)
    PAGES.enqueue_on_commit(immediate)
    return True


def tick(now=None):
    """Due responder escalations to the queue; the worker's ticker calls this every second."""
    now = now or timezone.now()
    handed = 0
    not_handed = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER)
    due = ResponderEscalation.objects.filter(not_handed, state=ResponderEscalation.State.RUNNING, next_at__lte=now)
    for pk in list(due.values_list("pk", flat=True)[:TICK_BATCH]):
        if due.filter(pk=pk).update(enqueued_at=now) == 1:
            if enqueue(ADVANCE_TASK, pk) is None:
                ResponderEscalation.objects.filter(pk=pk).update(enqueued_at=None)
                break  # the broker is down: the next tick tries again
            handed += 1
    return handed


def release():
    """Runs handed out but not advanced go back to the ticker."""
    return ResponderEscalation.objects.filter(
        state=ResponderEscalation.State.RUNNING, enqueued_at__isnull=False
    ).update(enqueued_at=None)


# --- answers -------------------------------------------------------------------


def join(request, *, by, channel=IN_PIQUET, now=None):
    """The asked person joins (`by` must be them): on the timeline, their pending messages cancelled, the
    policy's chain that asked them stopped."""
    return _answer(request, State.JOINED, by=by, channel=channel, now=now)


def decline(request, *, by, channel=IN_PIQUET, now=None):
    """The asked person declines: on the timeline; a policy's step whose people all declined moves on now."""
    return _answer(request, State.DECLINED, by=by, channel=channel, now=now)


def _answer(request, state, *, by, channel, now):
    now = now or timezone.now()
    if by is None or by.pk != request.user_id:
        raise PermissionError("only the person asked answers a responder request")
    with transaction.atomic():
        if Incident.objects.filter(pk=request.incident_id, status=Status.RESOLVED).exists():
            raise AnswerError(_("The incident is resolved: there is nothing to join any more."))
        changed = ResponderRequest.objects.filter(pk=request.pk, state=State.PAGED).update(state=state, answered_at=now)
        request = ResponderRequest.objects.select_related("incident", "user", "escalation").get(pk=request.pk)
        if not changed:
            raise AnswerError(
                _("You already answered this request (%(state)s).") % {"state": request.get_state_display()}
            )
        incident = request.incident
        params = {"name": display_name(by), "channel": timeline.translated(channel)}
        if state == State.JOINED:
            text = gettext_noop("%(name)s joined the response (%(channel)s).")
        else:
            text = gettext_noop("%(name)s declined to join the response (%(channel)s).")
        _record(incident, text, params, by=by, data={"request": request.pk, "state": state}, at=now)
        Notification.objects.filter(responder_request=request, status=Notification.Status.PENDING).update(
            status=Notification.Status.CANCELLED
        )
        run = request.escalation
        if run is not None and run.state == ResponderEscalation.State.RUNNING:
            if state == State.JOINED:
                ResponderEscalation.objects.filter(pk=run.pk, state=ResponderEscalation.State.RUNNING).update(
                    state=ResponderEscalation.State.JOINED, next_at=None, enqueued_at=None
                )
            elif not run.requests.filter(state__in=[State.PAGED, State.JOINED]).exists():
                ResponderEscalation.objects.filter(pk=run.pk, state=ResponderEscalation.State.RUNNING).update(
                    next_at=now, enqueued_at=None
                )
    logger.info("responder answered incident=%s user=%s state=%s", incident.number, by.pk, state)
    return request


def open_request(incident, user):
    """The person's unanswered request on the incident, or None."""
    return ResponderRequest.objects.filter(incident=incident, user=user, state=State.PAGED).first()
