"""Running a play on an incident: its tasks copied onto the incident, its roles asked for, its people called in.

A play runs at most once per incident (`PlayRun`, unique per incident and play): by itself when an incident
that fits it is triggered or declared, or changes severity or type (the worker follows those events), or by a
person who picks it. Running it again adds nothing. The run writes its timeline entry and the event that
stakeholder communications follow (`PLAY_RAN`) in its own transaction.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents import bridge, events, responders, timeline
from incidents.lifecycle import TransitionError
from incidents.models import Incident, IncidentEvent, IncidentRole, IncidentTask, Play, PlayRun
from project.rows import insert_unless_taken

logger = logging.getLogger(__name__)


def run(incident, play, *, by=None, now=None):
    """Run `play` on the incident; returns `(run, created)`. A play that ran on it already adds nothing
    (`created` is False); a resolved incident runs no play."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        existing = PlayRun.objects.filter(incident=incident, play=play).first()
        if existing is not None:
            return existing, False
        if not incident.is_open:
            raise TransitionError(
                _("Incident #%(number)s is resolved: no play runs on it.") % {"number": incident.number}
            )
        play_run = PlayRun(
            incident=incident, play=play, play_name=play.name, roles=list(play.roles), ran_at=now, ran_by=by
        )
        if not insert_unless_taken(play_run):
            return PlayRun.objects.get(incident=incident, play=play), False
        start = (IncidentTask.objects.filter(incident=incident).aggregate(last=Max("position"))["last"] or 0) + 1
        tasks = [
            IncidentTask(
                incident=incident,
                run=play_run,
                play=play,
                position=start + index,
                title=task.title,
                description=task.description,
                role=task.role,
                required=task.required,
                due_at=now + timedelta(minutes=task.due_minutes) if task.due_minutes is not None else None,
                created_at=now,
                created_by=by,
            )
            for index, task in enumerate(play.tasks.order_by("position", "pk"))
        ]
        IncidentTask.objects.bulk_create(tasks)
        PlayRun.objects.filter(pk=play_run.pk).update(tasks_added=len(tasks))
        play_run.tasks_added = len(tasks)
        params = {"play": play.name, "count": len(tasks)}
        if by is not None:
            message = gettext_noop("Play %(play)s ran: %(count)s task(s).")
        else:
            message = gettext_noop("Play %(play)s ran automatically: %(count)s task(s).")
        timeline.record(
            incident,
            timeline.Kind.PLAY,
            message,
            params=params,
            by=by,
            at=now,
            data={"play": play.pk, "run": play_run.pk},
        )
        _ask_for_roles(incident, play, by=by, at=now)
        _gather(incident, play, by=by)
        events.emit(incident, IncidentEvent.Kind.PLAY_RAN, play=play.pk, run=play_run.pk)
    logger.info("play ran incident=%s play=%s tasks=%s by=%s", incident.number, play.pk, len(tasks), by)
    return play_run, True


def run_matching(incident_id, *, now=None):
    """Run every enabled play that fits the open incident and has not run on it yet (the worker calls this when
    an incident opens or changes severity or type). Returns the runs made."""
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    if incident is None or not incident.is_open:
        return []
    already = set(PlayRun.objects.filter(incident=incident).values_list("play_id", flat=True))
    made = []
    for play in Play.objects.for_incident(incident):
        if play.pk in already:
            continue
        try:
            play_run, created = run(incident, play, now=now)
        except TransitionError:
            return made  # resolved meanwhile
        if created:
            made.append(play_run)
    return made


def _ask_for_roles(incident, play, *, by, at):
    """The roles the play wants filled that nobody holds yet, on the timeline (the incident page lists them)."""
    held = set(IncidentRole.objects.filter(incident=incident).values_list("role", flat=True))
    wanted = [role for role in play.roles if role in IncidentRole.Role.values and role not in held]
    if not wanted:
        return
    timeline.record(
        incident,
        timeline.Kind.PLAY,
        gettext_noop("Play %(play)s asks for these roles to be filled: %(roles)s"),
        params={"play": play.name, "roles": [timeline.label(IncidentRole.Role(role)) for role in wanted]},
        by=by,
        at=at,
        data={"play": play.pk, "roles": wanted},
    )


def _gather(incident, play, *, by):
    """Call in the responders the play names, each paged through their own rules (see incidents.responders),
    and give the incident the play's conference bridge unless it has one already. Inside the run's transaction."""
    if (play.bridge_url or play.bridge_phone) and not (incident.bridge_url or incident.bridge_phone):
        try:
            bridge.set_bridge(incident, url=play.bridge_url, phone=play.bridge_phone, by=by)
        except ValueError as exc:  # a link written past validation: the rest of the play still runs
            logger.warning("play bridge refused incident=%s play=%s: %s", incident.number, play.pk, exc)
    users = [user for user in play.responder_users.all() if user.is_active]
    schedules, policies = list(play.responder_schedules.all()), list(play.responder_policies.all())
    if not (users or schedules or policies):
        return None
    message = _("Play: %(play)s") % {"play": play.name}
    return responders.add(incident, by=by, users=users, schedules=schedules, policies=policies, message=message)
