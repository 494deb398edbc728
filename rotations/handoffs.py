"""Shifts as people live them, and the notes they leave for whoever takes over.

The final schedule (`rotations.final_schedule`) cuts a person's time on call
wherever its source changes (a layer's shift, then an override); `runs()`
joins what follows without a break into one stretch on call per person. A
handoff is where one person's stretch ends and another's begins. A handoff
note is written by the person on call (for the end of their current stretch,
or of their next one) and given to whoever takes over at that handoff.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from rotations.final_schedule import final_segments, segment_at
from rotations.models import MAX_HANDOFF_NOTE_LENGTH, HandoffNote
from rotations.oncall import plan_for
from rotations.restrictions import ScheduleError

# How far ahead a person may write notes for their next shift, and how far the end of a stretch is looked for.
NOTE_AHEAD = timedelta(days=14)
END_HORIZON = timedelta(days=35)


@dataclass(frozen=True)
class Run:
    """One person's uninterrupted time on call (user None: nobody, a gap). `end` None: not known (too far)."""

    start: datetime
    end: datetime | None
    user: object


def runs(segments) -> list[Run]:
    """The final segments (user keys) joined into runs: consecutive pieces of the same person (or gap) are one."""
    joined: list[list] = []
    for segment in segments:
        if joined and joined[-1][2] == segment.user and joined[-1][1] == segment.start:
            joined[-1][1] = segment.end
        else:
            joined.append([segment.start, segment.end, segment.user])
    return [Run(start, end, user) for start, end, user in joined]


def run_end(plan, run: Run, *, steps: int = 12):
    """The real end of a run cut at a window's end: followed on the final schedule (None: beyond END_HORIZON)."""
    end = run.end
    for _step in range(steps):
        segment = segment_at(plan, end, horizon=END_HORIZON)
        if segment.user != run.user:
            return end
        if segment.end is None:
            return None
        end = segment.end
    return None


def own_run(schedule, user, now=None) -> Run | None:
    """The person's current run on `schedule`, else their next one starting within NOTE_AHEAD (None: neither)."""
    now = now or timezone.now()
    plan = plan_for(schedule)
    found = runs(final_segments(plan, now, now + NOTE_AHEAD))
    for run in found:
        if run.user == user.pk:
            end = run.end if run.end < now + NOTE_AHEAD else run_end(plan, run)
            return Run(run.start, end, user.pk)
    return None


def no_shift_message():
    return _("You have no shift on this schedule now or in the next %(days)s days.") % {"days": NOTE_AHEAD.days}


def write_note(*, schedule, user, text, now=None) -> HandoffNote:
    """A handoff note by `user` for the end of their current (or next) shift on `schedule`; ScheduleError when
    they have no shift there, or the text is empty or too long."""
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise ScheduleError(_("Write something for the person taking over."))
    if len(text) > MAX_HANDOFF_NOTE_LENGTH:
        raise ScheduleError(
            _("Handoff notes are at most %(count)s characters long.") % {"count": MAX_HANDOFF_NOTE_LENGTH}
        )
    run = own_run(schedule, user, now)
    if run is None:
        raise ScheduleError(no_shift_message())
    if run.end is None:
        raise ScheduleError(_("Your shift on this schedule has no end in sight: there is no handoff to write for."))
    return HandoffNote.objects.create(schedule=schedule, user=user, shift_end=run.end, text=text, written_at=now)


def pending_notes(*, schedule_id, outgoing_id, at) -> list[HandoffNote]:
    """The notes the outgoing person wrote on the schedule up to the handoff `at` and not given to anyone yet."""
    return list(
        HandoffNote.objects.filter(
            schedule_id=schedule_id, user_id=outgoing_id, handed_over_at=None, written_at__lte=at
        ).order_by("written_at", "id")
    )


def mark_handed_over(notes, *, to, at) -> int:
    """Record that `notes` went to `to` at the handoff `at` (those not given meanwhile). Returns how many."""
    return HandoffNote.objects.filter(pk__in=[note.pk for note in notes], handed_over_at=None).update(
        handed_over_at=at, handed_to=to
    )
