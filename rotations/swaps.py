"""Trading shifts: overrides by the people on a schedule, and swap or cover requests.

A participant of a schedule (of any of its layers) may hand time where they are
on call in the final schedule to someone else on the rotation (`create_override`),
or ask for cover (`ask`): the people offered accept (`accept`, which makes the
override in the same transaction, the request row locked so that one accept
wins) or decline (`decline`); the requester withdraws (`withdraw`); an open
request whose start has passed is expired (`expire_due`, from the worker's tick,
and counted so by `SwapRequest.current_state` before that). Managers and the
schedule's team managers keep every right they had.

Each state change empties `told_at`; the people concerned are told by a
consumer above rotations (incidents.swap_notices).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from people.teams import is_org_admin, managed_team_ids, manages, visible
from project.api import ConflictError
from rotations import oncall
from rotations.final_schedule import MAX_WINDOW
from rotations.models import Override, Participant, Schedule, SwapRequest
from rotations.restrictions import ScheduleError

State = SwapRequest.State
MAX_OFFERED = 100
MAX_NOTE = 1000


class SwapConflict(ConflictError):
    """The request's state (or the schedule as it is now) does not allow this."""


def person_name(user):
    return user.get_full_name() or user.get_username()


def may_manage(user, schedule):
    """Managers and the schedule's team managers: they change any override and any request."""
    return user.has_perm("rotations.add_override") or manages(user, schedule)


def rotation_ids(schedule):
    """The ids of everyone on the schedule's rotation (any layer's participants)."""
    return set(Participant.objects.filter(layer__schedule=schedule).values_list("user_id", flat=True))


def takes_part(user, schedule):
    return Participant.objects.filter(layer__schedule=schedule, user=user).exists()


def visible_requests(queryset, user):
    """Swap requests `user` may read: on schedules where they take part, or that they manage."""
    queryset = visible(queryset, user, "schedule__team")
    if is_org_admin(user):
        return queryset
    taking_part = Participant.objects.filter(user=user).values("layer__schedule_id")
    return queryset.filter(Q(schedule__team__in=managed_team_ids(user)) | Q(schedule__in=taking_part))


def local_time(instant):
    return timezone.localtime(instant).strftime("%Y-%m-%d %H:%M %Z")


def _final_segments(schedule, start, end):
    fresh = Schedule.objects.filter(pk=schedule.pk)
    try:
        [loaded] = oncall.load_plans(fresh, start=start - MAX_WINDOW, end=end)
        return oncall.shifts(loaded, start, end)
    except ScheduleError as exc:
        raise ValidationError({"end": [str(exc)]}) from None


def check_own_time(schedule, user, start, end, *, refuse_others):
    """Raise unless `user` is on call over all of [start, end) in the final schedule. Where someone else is:
    PermissionDenied when `refuse_others` (taking their time needs their consent), else ValidationError."""
    segments = _final_segments(schedule, start, end)
    others = [s for s in segments if s.user is not None and s.user.pk != user.pk]
    if others:
        message = _(
            "Part of this time is the shift of %(names)s, not yours: ask them with a swap request, "
            "or ask a manager of the schedule."
        ) % {"names": ", ".join(dict.fromkeys(person_name(s.user) for s in others))}
        if refuse_others:
            raise PermissionDenied(message)
        raise ValidationError({"start": [message]})
    gap = next((s for s in segments if s.is_gap), None)
    if gap is not None:
        raise ValidationError(
            {
                "start": [
                    _("You are not on call for all of this time: nobody is from %(start)s to %(end)s.")
                    % {"start": local_time(gap.start), "end": local_time(gap.end)}
                ]
            }
        )


def _check_range(start, end, *, now=None, future=False):
    if end <= start:
        raise ValidationError({"end": [_("The end must be after the start.")]})
    if future and start <= (now or timezone.now()):
        raise ValidationError({"start": [_("The start must be in the future.")]})


def create_override(schedule, *, by, user, start, end, reason=""):
    """An override of `schedule` putting `user` on call over [start, end), made by `by`. Managers and the
    schedule's team managers may make any; a participant hands only time where they are on call themselves
    to someone else on the rotation."""
    _check_range(start, end)
    if not may_manage(by, schedule):
        rotation = rotation_ids(schedule)
        if by.pk not in rotation:
            raise PermissionDenied(_("Only the people on this schedule and its managers may add overrides to it."))
        check_own_time(schedule, by, start, end, refuse_others=True)
        if user.pk == by.pk:
            raise ValidationError({"user": [_("Hand your shift to someone else on the rotation.")]})
        if user.pk not in rotation:
            raise ValidationError(
                {"user": [_("%(name)s is not on this schedule's rotation.") % {"name": person_name(user)}]}
            )
    override = Override.objects.create(
        schedule=schedule, user=user, start=start, end=end, reason=reason[:500], created_by=by
    )
    oncall.forget_plan(schedule)
    return override


def _ids(people):
    return list(dict.fromkeys(getattr(person, "pk", person) for person in people))


def ask(schedule, *, by, start, end, offered_to=(), note="", now=None):
    """`by` asks for cover of [start, end), time where they are on call on `schedule`, from `offered_to`
    (people of the rotation; empty: everyone else on it). Returns the open SwapRequest."""
    now = now or timezone.now()
    _check_range(start, end, now=now, future=True)
    rotation = rotation_ids(schedule)
    if by.pk not in rotation:
        raise PermissionDenied(_("Only the people on this schedule may ask for cover on it."))
    offered = _ids(offered_to)
    if len(offered) > MAX_OFFERED:
        raise ValidationError({"offered_to": [_("Name at most %(count)s people.") % {"count": MAX_OFFERED}]})
    if by.pk in offered:
        raise ValidationError({"offered_to": [_("You cannot offer your shift to yourself.")]})
    strangers = [str(pk) for pk in offered if pk not in rotation]
    if strangers:
        raise ValidationError(
            {"offered_to": [_("Not on this schedule's rotation: %(ids)s.") % {"ids": ", ".join(strangers)}]}
        )
    if not offered and not rotation - {by.pk}:
        raise ValidationError({"offered_to": [_("Nobody else is on this schedule's rotation.")]})
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": [_("At most %(count)s characters.") % {"count": MAX_NOTE}]})
    check_own_time(schedule, by, start, end, refuse_others=False)
    with transaction.atomic():
        swap = SwapRequest.objects.create(
            schedule=schedule, requester=by, start=start, end=end, note=note, created_at=now
        )
        if offered:
            swap.offered_to.set(offered)
    return swap


def offered_ids(swap):
    """Who may take the request: the people named, or everyone else on the rotation."""
    named = set(swap.offered_to.values_list("pk", flat=True))
    return named or rotation_ids(swap.schedule) - {swap.requester_id}


def _locked_open(swap, now):
    """The request again, its row locked until the transaction ends; SwapConflict unless it is still open."""
    swap = SwapRequest.objects.select_for_update(of=("self",)).select_related("schedule", "requester").get(pk=swap.pk)
    state = swap.current_state(now)
    if state == State.EXPIRED:
        raise SwapConflict(_("The shift has started: this request expired and can no longer be answered."))
    if state != State.OPEN:
        raise SwapConflict(
            _("This request is %(state)s: it can no longer be answered.") % {"state": State(state).label}
        )
    return swap


def _move(swap, now, state, **fields):
    """Compare and set: the open request to `state`, to be told again; SwapConflict when it changed meanwhile."""
    changed = SwapRequest.objects.filter(pk=swap.pk, state=State.OPEN).update(
        state=state, decided_at=now, told_at=None, **fields
    )
    if changed != 1:
        raise SwapConflict(_("This request was answered meanwhile."))


def accept(swap, *, by, now=None):
    """`by`, one of the people offered, takes the request: their override is made in the same transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        swap = _locked_open(swap, now)
        if by.pk not in offered_ids(swap):
            raise PermissionDenied(_("This request is not offered to you."))
        try:
            check_own_time(swap.schedule, swap.requester, swap.start, swap.end, refuse_others=False)
        except ValidationError:
            raise SwapConflict(
                _("The schedule changed: %(name)s is no longer on call for all of this time.")
                % {"name": person_name(swap.requester)}
            ) from None
        override = Override.objects.create(
            schedule=swap.schedule,
            user=by,
            start=swap.start,
            end=swap.end,
            reason=(
                _("Cover for %(name)s (swap request %(id)s)") % {"name": person_name(swap.requester), "id": swap.pk}
            )[:500],
            created_by=by,
            created_at=now,
        )
        _move(swap, now, State.ACCEPTED, taken_by=by, override=override)
    swap.refresh_from_db()
    return swap


def decline(swap, *, by, now=None):
    """`by`, one of the people offered, declines; once every one of them has, the request is declined."""
    now = now or timezone.now()
    with transaction.atomic():
        swap = _locked_open(swap, now)
        offered = offered_ids(swap)
        if by.pk not in offered:
            raise PermissionDenied(_("This request is not offered to you."))
        swap.declined_by.add(by)
        if offered <= set(swap.declined_by.values_list("pk", flat=True)):
            _move(swap, now, State.DECLINED)
    swap.refresh_from_db()
    return swap


def withdraw(swap, *, by, now=None):
    """The requester (or a manager of the schedule) takes the request back."""
    now = now or timezone.now()
    with transaction.atomic():
        swap = _locked_open(swap, now)
        if by.pk != swap.requester_id and not may_manage(by, swap.schedule):
            raise PermissionDenied(_("Only the person who asked may withdraw this request."))
        _move(swap, now, State.WITHDRAWN)
    swap.refresh_from_db()
    return swap


def expire_due(now=None):
    """Open requests whose start has passed become expired (one indexed update). Returns how many."""
    now = now or timezone.now()
    return SwapRequest.objects.filter(state=State.OPEN, start__lte=now).update(
        state=State.EXPIRED, decided_at=now, told_at=None
    )


def may_answer(swap, user):
    """(may accept or decline, may withdraw) for the buttons of the admin."""
    if swap.current_state() != State.OPEN:
        return False, False
    return user.pk in offered_ids(swap), user.pk == swap.requester_id or may_manage(user, swap.schedule)


__all__ = ["SwapConflict", "accept", "ask", "create_override", "decline", "expire_due", "withdraw"]
