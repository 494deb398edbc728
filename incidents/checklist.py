"""The tasks on an incident: add, assign, complete, skip, and remind of the overdue ones.

Each change locks the task's row and writes its timeline entry in the same transaction. An open task past due
reminds, once, its assignee, else whoever holds its role on the incident, else the commander, else the people
paged for the incident (a notice, through their own rules).
"""

import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents import notices, timeline
from incidents.lifecycle import TransitionError
from incidents.models import Incident, IncidentRole, IncidentTask, Notice, Page, Status
from incidents.models.plays import MAX_DESCRIPTION, MAX_SKIP_REASON, MAX_TITLE
from people.models import display_name, profile_of
from project.clock import ClockError, get_zone
from project.templatetags.piquet_time import format_instant
from project.text import one_line

logger = logging.getLogger(__name__)

State = IncidentTask.State
REMIND_BATCH = 100


def _title(task):
    return {"title": task.title}


def _locked(task):
    return IncidentTask.objects.select_for_update().select_related("incident").get(pk=task.pk)


def add(incident, *, title, by, description="", role="", due_at=None, required=False, now=None):
    """A person adds a task of their own to the incident's checklist (at its end)."""
    title = one_line(title, MAX_TITLE)
    if not title:
        raise ValueError(_("A task needs a title."))
    if len(description or "") > MAX_DESCRIPTION:
        raise ValueError(_("A task's description is at most %(max)s characters.") % {"max": MAX_DESCRIPTION})
    if role and role not in IncidentRole.Role.values:
        raise ValueError(_("Unknown role %(role)s.") % {"role": role})
    now = now or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        last = IncidentTask.objects.filter(incident=incident).aggregate(last=Max("position"))["last"] or 0
        task = IncidentTask.objects.create(
            incident=incident,
            position=last + 1,
            title=title,
            description=description or "",
            role=role or "",
            due_at=due_at,
            required=required,
            created_at=now,
            created_by=by,
        )
        timeline.record(
            incident, timeline.Kind.TASK, gettext_noop("Task added: %(title)s"), params=_title(task), by=by, at=now,
            data={"task": task.pk, "action": "added"},
        )  # fmt: skip
    return task


def assign(task, *, user, by, now=None):
    """Give the task to a person (another assignee is replaced); assigning the same person changes nothing."""
    if not user.is_active:
        raise ValueError(_("%(name)s is not an active user.") % {"name": display_name(user)})
    now = now or timezone.now()
    with transaction.atomic():
        task = _locked(task)
        if task.assignee_id == user.pk:
            return task
        task.assignee = user
        task.save(update_fields=["assignee"])
        timeline.record(
            task.incident,
            timeline.Kind.TASK,
            gettext_noop("Task %(title)s assigned to %(name)s"),
            params={**_title(task), "name": display_name(user)},
            by=by,
            at=now,
            data={"task": task.pk, "action": "assigned", "user": user.pk},
        )
    return task


def complete(task, *, by, now=None):
    """The task is done. Completing a done task changes nothing; a skipped one cannot be completed."""
    now = now or timezone.now()
    with transaction.atomic():
        task = _locked(task)
        if task.state == State.DONE:
            return task
        if task.state != State.OPEN:
            raise TransitionError(_("The task “%(title)s” was skipped.") % _title(task))
        task.state, task.done_by, task.done_at = State.DONE, by, now
        task.save(update_fields=["state", "done_by", "done_at"])
        timeline.record(
            task.incident, timeline.Kind.TASK, gettext_noop("Task done: %(title)s"), params=_title(task), by=by,
            at=now, data={"task": task.pk, "action": "done"},
        )  # fmt: skip
    return task


def skip(task, *, reason, by, now=None):
    """The task will not be done, and the reason why (required) goes on the timeline."""
    reason = one_line(reason or "", MAX_SKIP_REASON)
    if not reason:
        raise ValueError(_("Say why the task is skipped."))
    now = now or timezone.now()
    with transaction.atomic():
        task = _locked(task)
        if task.state == State.SKIPPED:
            return task
        if task.state != State.OPEN:
            raise TransitionError(_("The task “%(title)s” is done already.") % _title(task))
        task.state, task.done_by, task.done_at, task.skip_reason = State.SKIPPED, by, now, reason
        task.save(update_fields=["state", "done_by", "done_at", "skip_reason"])
        timeline.record(
            task.incident,
            timeline.Kind.TASK,
            gettext_noop("Task skipped: %(title)s (%(reason)s)"),
            params={**_title(task), "reason": reason},
            by=by,
            at=now,
            data={"task": task.pk, "action": "skipped"},
        )
    return task


def open_required(incident):
    """The required tasks still open on the incident (what a person resolving it is asked to confirm)."""
    return IncidentTask.objects.filter(incident=incident, state=State.OPEN, required=True).order_by("position", "pk")


# --- reminders of overdue tasks ------------------------------------------------------------------


def _who_to_remind(task):
    if task.assignee_id and task.assignee.is_active:
        return [task.assignee]
    holders = {r.role: r.user for r in IncidentRole.objects.filter(incident_id=task.incident_id).select_related("user")}
    for role in (task.role, IncidentRole.Role.COMMANDER):
        if role and role in holders and holders[role].is_active:
            return [holders[role]]
    paged = {
        page.user_id: page.user for page in Page.objects.filter(incident_id=task.incident_id).select_related("user")
    }
    return [user for user in paged.values() if user.is_active]


def _zone_of(user):
    try:
        return get_zone(profile_of(user).time_zone)
    except ClockError:
        return timezone.get_default_timezone()


def remind(task, *, now=None):
    """Tell whoever answers for an overdue task, once (the task's key). Returns the notices written."""
    incident = task.incident
    written = []
    for user in _who_to_remind(task):
        with notices.speaking_to(user), timezone.override(_zone_of(user)):
            facts = {"number": incident.number, "title": task.title, "due": format_instant(task.due_at)}
            written += notices.tell(
                user,
                kind=Notice.Kind.TASK,
                subject=_("Incident #%(number)s: task overdue: %(title)s") % facts,
                text=_("“%(title)s” was due at %(due)s. Do it, or skip it saying why.") % facts,
                short=_("#%(number)s task overdue: %(title)s") % facts,
                url=incident.url,
                incident=incident,
                key=f"task:{task.pk}",
                now=now,
            )
    if not written:
        logger.warning("task reminder reached nobody task=%s incident=%s", task.pk, incident.number)
    return written


def tick(now=None):
    """Remind of the open tasks past due not reminded yet (one indexed query); the worker's ticker calls this.
    Each task is claimed before its reminder is written, so two tickers remind once. Returns how many."""
    now = now or timezone.now()
    due = IncidentTask.objects.filter(state=State.OPEN, reminded_at=None, due_at__lte=now)
    reminded = 0
    for pk in list(due.order_by("due_at").values_list("pk", flat=True)[:REMIND_BATCH]):
        with transaction.atomic():
            if IncidentTask.objects.filter(pk=pk, reminded_at=None).update(reminded_at=now) != 1:
                continue
            task = IncidentTask.objects.select_related("incident", "assignee").get(pk=pk)
            if task.incident.status == Status.RESOLVED:
                continue  # the review takes the open tasks over; nobody is chased for them
            remind(task, now=now)
            reminded += 1
    return reminded
