"""Telling people about swap and cover requests (rotations.swaps), by their own notice rules.

Rotations records each request's state and empties `told_at` when it changes;
every tick of the worker expires the open requests whose start has passed, then
finds the requests not told yet, tells the people concerned in their language
and time zone (once per request and state: the notice key), and marks them
told — in one transaction, the rows locked. When nothing is to be told, a tick
costs one query (on two indexes).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.notices import Kind, speaking_to, tell
from people.models import TeamMembership, profile_of
from project.clock import get_zone
from project.roles import MANAGERS
from rotations import swaps
from rotations.models import SwapRequest

State = SwapRequest.State
BATCH = 50


def _when(user, instant):
    zone = get_zone(profile_of(user).time_zone or settings.TIME_ZONE)
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _managers(schedule):
    """The schedule's team managers; the Managers when it belongs to no team."""
    users = get_user_model().objects.filter(is_active=True)
    if schedule.team_id is not None:
        return list(
            users.filter(team_memberships__team_id=schedule.team_id, team_memberships__role=TeamMembership.Role.MANAGER)
        )
    return list(users.filter(groups__name=MANAGERS))


def _texts(swap, state, user):
    """(subject, text) for `user` about `swap` in `state`, in their language."""
    params = {
        "requester": swaps.person_name(swap.requester),
        "taker": swaps.person_name(swap.taken_by) if swap.taken_by_id else "",
        "schedule": swap.schedule.name,
        "start": _when(user, swap.start),
        "end": _when(user, swap.end),
    }
    with speaking_to(user):
        if state == State.OPEN:
            subject = _("%(requester)s asks for cover on %(schedule)s") % params
            text = (
                _("%(requester)s asks for cover on %(schedule)s from %(start)s to %(end)s. Accept or decline:") % params
            )
            if swap.note:
                text = f"{swap.note}\n\n{text}"
        elif state == State.ACCEPTED and user.pk == swap.requester_id:
            subject = _("%(taker)s takes your shift on %(schedule)s") % params
            text = _("%(taker)s takes your shift on %(schedule)s from %(start)s to %(end)s.") % params
        elif state == State.ACCEPTED and user.pk == swap.taken_by_id:
            subject = _("You cover %(requester)s on %(schedule)s") % params
            text = _("You are on call on %(schedule)s from %(start)s to %(end)s, covering %(requester)s.") % params
        elif state == State.ACCEPTED:
            subject = _("%(taker)s covers %(requester)s on %(schedule)s") % params
            text = _("%(taker)s covers %(requester)s on %(schedule)s from %(start)s to %(end)s.") % params
        elif state == State.DECLINED:
            subject = _("Nobody can cover your shift on %(schedule)s") % params
            text = (
                _("Everyone you asked declined to cover your shift on %(schedule)s from %(start)s to %(end)s.") % params
            )
        elif state == State.WITHDRAWN:
            subject = _("%(requester)s no longer needs cover on %(schedule)s") % params
            text = _("%(requester)s withdrew the request for cover on %(schedule)s from %(start)s to %(end)s.") % params
        else:
            subject = _("Your request for cover on %(schedule)s expired") % params
            text = (
                _(
                    "Nobody took your shift on %(schedule)s from %(start)s to %(end)s before it started: "
                    "you are still on call."
                )
                % params
            )
    return subject, text


def _recipients(swap, state):
    people = get_user_model().objects.filter(is_active=True)
    if state == State.OPEN:
        return list(people.filter(pk__in=swaps.offered_ids(swap)).order_by("pk"))
    if state == State.ACCEPTED:
        told = [swap.requester, swap.taken_by] if swap.taken_by_id else [swap.requester]
        return told + [user for user in _managers(swap.schedule) if user.pk not in {u.pk for u in told}]
    if state == State.WITHDRAWN:
        declined = set(swap.declined_by.values_list("pk", flat=True))
        return list(people.filter(pk__in=swaps.offered_ids(swap) - declined).order_by("pk"))
    return [swap.requester]


def tell_one(swap, now):
    """Tell the people concerned of the request's current state; returns how many notices were written."""
    state = swap.state
    url = settings.PIQUET_BASE_URL + swap.get_absolute_url()
    written = 0
    for user in _recipients(swap, state):
        subject, text = _texts(swap, state, user)
        written += len(
            tell(
                user,
                kind=Kind.SWAP,
                subject=subject,
                text=text,
                short=subject,
                url=url,
                key=f"swap:{swap.pk}:{state}",
                now=now,
            )
        )
    return written


def tick(now=None):
    """Expire what has started, tell what changed; the worker's ticker calls this. Returns notices written."""
    now = now or timezone.now()
    to_expire = Q(state=State.OPEN, start__lte=now)
    waiting = list(
        SwapRequest.objects.filter(Q(told_at__isnull=True) | to_expire)
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    if not waiting:
        return 0
    swaps.expire_due(now)
    written = 0
    with transaction.atomic():
        rows = (
            SwapRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=waiting, told_at__isnull=True)
            .select_related("schedule", "requester", "taken_by")
            .order_by("pk")
        )
        for swap in rows:
            written += tell_one(swap, now)
            swap.told_state, swap.told_at = swap.state, now
            swap.save(update_fields=["told_state", "told_at"])
    return written
