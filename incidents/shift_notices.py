"""Heads-ups before shifts and the handoff at their start, told through each person's own rules.

A person is told `Profile.heads_up_minutes` before each stretch they are on
call (the final schedule: layers and overrides; a shift that continues
another of theirs is the same stretch and gets no second heads-up). At a
handoff — a stretch beginning where another person's ends — the incoming
person is told what is open on the services paged through that schedule and
gets the outgoing person's handoff notes (`rotations.handoffs`).

The worker's ticker calls `tick()` every second; the schedules are read only
when the due time kept in the database (`ShiftCheck`) has come: every
CHECK_EVERY, or sooner when a heads-up or a handoff falls due before that.
One run reads every schedule in a fixed number of queries and looks ahead
only as far as the longest heads-up anyone asked for. Each notice has a key
(schedule, person, start of the stretch), so a check that runs twice, or on
two workers, tells once.
"""

import itertools
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incidents import notices
from incidents.models import Incident, Notice, ShiftCheck
from people.models import DEFAULT_HEADS_UP_MINUTES, Profile, display_name
from project.clock import get_zone
from project.templatetags.piquet_time import format_instant
from rotations import handoffs, oncall
from rotations.final_schedule import final_segments
from rotations.handoffs import END_HORIZON, Run
from rotations.models import Schedule

logger = logging.getLogger(__name__)

CHECK = "shifts"
CHECK_EVERY = timedelta(seconds=30)
# A handoff found this late (the worker was down) is still told; later, it is history.
HANDOFF_GRACE = timedelta(minutes=30)
# The open incidents a handoff lists at most.
MAX_INCIDENTS = 20


@dataclass(frozen=True)
class Person:
    """What the messages need of a person: their User, zone, language and lead time (None: no heads-up)."""

    user: object
    zone: object
    lead: timedelta | None


def tick(now=None):
    """Tell due heads-ups and handoffs when the shift check is due (claimed once across workers).
    Returns how many notices were written."""
    now = now or timezone.now()
    row = ShiftCheck.objects.filter(name=CHECK).values_list("pk", "next_at").first()
    if row is None:
        ShiftCheck.objects.get_or_create(name=CHECK, defaults={"next_at": now})
        row = ShiftCheck.objects.filter(name=CHECK).values_list("pk", "next_at").first()
    pk, next_at = row
    if next_at > now:
        return 0
    following = now + CHECK_EVERY
    if ShiftCheck.objects.filter(pk=pk, next_at=next_at).update(next_at=following) != 1:
        return 0  # another worker took this check
    told, soonest = run(now)
    if soonest is not None and soonest < following:
        ShiftCheck.objects.filter(pk=pk, next_at=following).update(next_at=max(soonest, now))
    return told


def longest_lead():
    """The longest heads-up anyone asked for (a person without a profile has the default)."""
    longest = Profile.objects.aggregate(longest=Max("heads_up_minutes"))["longest"] or 0
    return timedelta(minutes=max(longest, DEFAULT_HEADS_UP_MINUTES))


def run(now):
    """Look at every schedule around `now`: tell what is due. Returns (notices written, when the next one falls
    due before the next regular check, or None)."""
    lead = longest_lead()
    start, end = now - HANDOFF_GRACE, now + lead + CHECK_EVERY
    schedules = oncall.load_plans(
        Schedule.objects.only("id", "name", "time_zone").order_by("id"), start=start, end=end + END_HORIZON
    )
    found = []  # (schedule, run, previous run)
    for schedule in schedules:
        stretches = handoffs.runs(final_segments(oncall.plan_for(schedule), start, end))
        # The first stretch is cut at the window's start: it began earlier and is nobody's news.
        found += [(schedule, stretch, before) for before, stretch in itertools.pairwise(stretches)]
    found = [(schedule, stretch, before) for schedule, stretch, before in found if stretch.user is not None]
    people = _people({stretch.user for _schedule, stretch, _before in found}, schedules)
    due, soonest = [], None
    for schedule, stretch, before in found:
        person = people.get(stretch.user)
        if person is None:
            continue
        if stretch.start > now and person.lead is not None:
            at = stretch.start - person.lead
            if at <= now:
                due.append((Notice.Kind.HEADS_UP, schedule, stretch, before, person))
            else:
                soonest = at if soonest is None else min(soonest, at)
        if before.user is not None and before.user != stretch.user:
            if stretch.start <= now:
                due.append((Notice.Kind.HANDOFF, schedule, stretch, before, person))
            else:
                soonest = stretch.start if soonest is None else min(soonest, stretch.start)
    told = 0
    already = set(
        Notice.objects.filter(key__in=[_key(kind, s, stretch) for kind, s, stretch, _b, _p in due]).values_list(
            "key", flat=True
        )
    )
    due = [item for item in due if _key(*item[:3]) not in already]
    reachable = _reachable({person.user.pk for *_rest, person in due})
    for kind, schedule, stretch, before, person in due:
        if person.user.pk not in reachable:
            continue  # no way to tell them (the daily check tells the schedule's owners), and no log every check
        try:
            if kind == Notice.Kind.HEADS_UP:
                told += heads_up(schedule, stretch, person)
            else:
                told += handoff(schedule, stretch, before, person, schedules=schedules)
        except DatabaseError:
            raise  # the database is away: the worker says so, and the next check tries again
        except Exception:
            # One schedule or person that cannot be told must not keep the others from being told.
            logger.exception("shift notice failed kind=%s schedule=%s user=%s", kind, schedule.pk, stretch.user)
    return told, soonest


def _people(user_ids, schedules):
    """Person per user id, from the users the plans already hold and their profiles (one query)."""
    if not user_ids:
        return {}
    users = {}
    for schedule in schedules:  # the plans of one load share their users
        held = oncall.plan_for(schedule).users
        users.update({user_id: held[user_id] for user_id in user_ids if user_id in held and user_id not in users})
    profiles = {
        user_id: (zone, minutes)
        for user_id, zone, minutes in Profile.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "time_zone", "heads_up_minutes"
        )
    }
    people = {}
    for user_id in user_ids:
        user = users.get(user_id)
        if user is None or not user.is_active:
            continue
        zone_name, minutes = profiles.get(user_id, ("", DEFAULT_HEADS_UP_MINUTES))
        people[user_id] = Person(
            user=user,
            zone=get_zone(zone_name or settings.TIME_ZONE),
            lead=timedelta(minutes=minutes) if minutes else None,
        )
    return people


def _reachable(user_ids):
    """Those of `user_ids` with an enabled contact method or an account e-mail (one query)."""
    if not user_ids:
        return set()
    return set(
        get_user_model()
        .objects.filter(pk__in=user_ids)
        .filter(~Q(email="") | Q(contact_methods__enabled=True))
        .values_list("pk", flat=True)
        .distinct()
    )


def _key(kind, schedule, stretch):
    prefix = "heads-up" if kind == Notice.Kind.HEADS_UP else "handoff"
    return f"{prefix}:{schedule.pk}:{stretch.user}:{stretch.start.isoformat()}"


def schedule_url(schedule):
    return settings.PIQUET_BASE_URL + schedule.get_absolute_url()


def when(instant, zone):
    """An instant on the reader's wall clock with the zone named, e.g. "2026-03-29 08:00 CEST"."""
    with timezone.override(zone):
        return format_instant(instant)


def _end_of(schedule, stretch):
    """The end of a stretch that may run past the window the check read."""
    return handoffs.run_end(oncall.plan_for(schedule), stretch)


def _until(end, zone):
    if end is None:
        return _("until further notice")
    return _("until %(end)s") % {"end": when(end, zone)}


def heads_up(schedule, stretch: Run, person: Person) -> int:
    """Tell the person their stretch on `schedule` is coming. Returns notices written."""
    user, zone = person.user, person.zone
    end = _end_of(schedule, stretch)
    with notices.speaking_to(user):
        values = {
            "schedule": schedule.name,
            "start": when(stretch.start, zone),
            "until": _until(end, zone),
            "zone": zone.key,
        }
        subject = _("Heads-up: you are on call for %(schedule)s from %(start)s") % values
        text = (
            _(
                "You are on call for %(schedule)s from %(start)s %(until)s.\n"
                "Times are in your time zone, %(zone)s. Swap or get cover early if you cannot make it."
            )
            % values
        )
        short = _("On call for %(schedule)s from %(start)s %(until)s.") % values
    written = notices.tell(
        user,
        kind=Notice.Kind.HEADS_UP,
        subject=subject,
        text=text,
        short=short,
        url=schedule_url(schedule),
        key=_key(Notice.Kind.HEADS_UP, schedule, stretch),
    )
    return len(written)


def open_incidents(schedule):
    """The open incidents of the services whose escalation policies page through `schedule`, newest first."""
    return list(
        Incident.objects.open()
        .filter(service__escalation_policy__steps__schedules=schedule)
        .select_related("service")
        .distinct()
        .order_by("-created_at", "-id")[: MAX_INCIDENTS + 1]
    )


def handoff(schedule, stretch: Run, before: Run, person: Person, *, schedules) -> int:
    """Tell the incoming person they take over: the open incidents and the outgoing person's notes."""
    user, zone = person.user, person.zone
    outgoing = oncall.plan_for(schedule).users.get(before.user)
    incidents = open_incidents(schedule)
    end = _end_of(schedule, stretch)
    with transaction.atomic():
        notes = handoffs.pending_notes(schedule_id=schedule.pk, outgoing_id=before.user, at=stretch.start)
        with notices.speaking_to(user):
            subject, text, short = _handoff_text(schedule, stretch, end, outgoing, incidents, notes, zone)
        written = notices.tell(
            user,
            kind=Notice.Kind.HANDOFF,
            subject=subject,
            text=text,
            short=short,
            url=schedule_url(schedule),
            key=_key(Notice.Kind.HANDOFF, schedule, stretch),
        )
        if written and notes:
            handoffs.mark_handed_over(notes, to=user, at=stretch.start)
    return len(written)


def _handoff_text(schedule, stretch, end, outgoing, incidents, notes, zone):
    name = display_name(outgoing) if outgoing is not None else _("someone")
    values = {
        "schedule": schedule.name,
        "person": name,
        "start": when(stretch.start, zone),
        "until": _until(end, zone),
        "zone": zone.key,
        "count": len(incidents[:MAX_INCIDENTS]),
    }
    subject = _("Handoff: you take over %(schedule)s from %(person)s") % values
    lines = [
        _("You are on call for %(schedule)s since %(start)s %(until)s, taking over from %(person)s.") % values,
        _("Times are in your time zone, %(zone)s.") % values,
        "",
    ]
    if incidents:
        lines.append(_("Open incidents on the services paged through this schedule:"))
        for incident in incidents[:MAX_INCIDENTS]:
            lines.append(
                _("- #%(number)s %(title)s (%(service)s, %(status)s, since %(opened)s) %(url)s")
                % {
                    "number": incident.number,
                    "title": incident.title,
                    "service": incident.service.name,
                    "status": incident.get_status_display(),
                    "opened": when(incident.created_at, zone),
                    "url": settings.PIQUET_BASE_URL + incident.get_absolute_url(),
                }
            )
        if len(incidents) > MAX_INCIDENTS:
            lines.append(_("- … and more: see the incident list."))
    else:
        lines.append(_("No incident is open on the services paged through this schedule."))
    lines.append("")
    if notes:
        lines.append(_("Handoff notes from %(person)s:") % values)
        for note in notes:
            lines.append(_("[%(written)s] %(text)s") % {"written": when(note.written_at, zone), "text": note.text})
    else:
        lines.append(_("%(person)s left no handoff notes.") % values)
    short = (
        ngettext(
            "You take over %(schedule)s from %(person)s: %(count)s open incident.",
            "You take over %(schedule)s from %(person)s: %(count)s open incidents.",
            values["count"],
        )
        % values
    )
    return subject, "\n".join(lines), short
