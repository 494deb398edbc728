"""Layer and schedule plans: the schedule math on plain values.

A `LayerPlan` is a layer reduced to what the math needs (its zone, shift grid,
participants as user keys, restrictions and life); a `SchedulePlan` holds a
schedule's layers by rank and its overrides. `make_layer()` builds every
LayerPlan, from plain values or from a saved layer (`Layer.plan()`); the final
schedule is computed from a plan in `rotations.final_schedule`.

Handoffs step on the local wall clock of the zone (project.clock); every
interval is half-open [start, end).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from project.clock import add_months, ensure_aware, get_zone, localize, months_between, wall_clock
from rotations.restrictions import (
    Restriction,
    ScheduleError,
    parse_restrictions,
    restriction_windows,
    restrictions_cover,
)

HOURS, DAYS, WEEKS, MONTHS = "hours", "days", "weeks", "months"
UNITS = (HOURS, DAYS, WEEKS, MONTHS)
# The longest shift per unit: a year. Longer ones overflow date arithmetic and help nobody.
MAX_SHIFT_LENGTH = {HOURS: 8760, DAYS: 366, WEEKS: 53, MONTHS: 12}

_NOMINAL_SECONDS = {HOURS: 3600, DAYS: 86400, WEEKS: 7 * 86400, MONTHS: 30.436875 * 86400}


@dataclass(frozen=True)
class Shift:
    """One raw shift of a layer: handoff k to handoff k+1, held by `user`."""

    index: int
    start: datetime
    end: datetime
    user: object


@dataclass(eq=False)
class LayerPlan:
    """A layer reduced to what the math needs. `participants` are user keys (ids)."""

    tz: ZoneInfo
    rotation_start: datetime
    shift_length: int
    shift_unit: str
    participants: tuple
    restrictions: tuple[Restriction, ...] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int = 0
    id: object = None
    rank: tuple = (0,)

    def __post_init__(self):
        if self.shift_unit not in UNITS:
            raise ScheduleError(
                _("Unknown shift unit %(unit)s; use %(units)s.")
                % {"unit": repr(self.shift_unit), "units": ", ".join(UNITS)}
            )
        if not isinstance(self.shift_length, int) or self.shift_length < 1:
            raise ScheduleError(_("The shift length must be a whole number of at least 1."))
        self.rotation_start = ensure_aware(self.rotation_start, "rotation_start")
        self.starts_at = ensure_aware(self.starts_at, "starts_at") if self.starts_at else self.rotation_start
        self.ends_at = ensure_aware(self.ends_at, "ends_at") if self.ends_at else None
        self.participants = tuple(self.participants)
        self._anchor_wall = wall_clock(self.rotation_start, self.tz)
        self._nominal = _NOMINAL_SECONDS[self.shift_unit] * self.shift_length
        if self.shift_unit == HOURS:
            self._step = timedelta(hours=self.shift_length)
        elif self.shift_unit == DAYS:
            self._step = timedelta(days=self.shift_length)
        elif self.shift_unit == WEEKS:
            self._step = timedelta(weeks=self.shift_length)
        else:
            self._step = None

    def handoff(self, k: int) -> datetime:
        """The UTC instant of handoff k (handoff 0 is the rotation start's wall time)."""
        if self._step is None:
            wall = add_months(self._anchor_wall, k * self.shift_length)
        else:
            wall = self._anchor_wall + k * self._step
        return localize(wall, self.tz)

    def shift_index(self, instant: datetime) -> int:
        """k such that handoff(k) <= instant < handoff(k + 1)."""
        if self._step is None:
            months = months_between(self._anchor_wall, wall_clock(instant, self.tz))
            k = months // self.shift_length
        else:
            k = int((instant - self.rotation_start).total_seconds() // self._nominal)
        while self.handoff(k) > instant:
            k -= 1
        while self.handoff(k + 1) <= instant:
            k += 1
        return k

    def shift_at(self, instant: datetime) -> Shift | None:
        """The raw shift containing `instant` (ignores starts_at, ends_at and restrictions)."""
        if not self.participants:
            return None
        k = self.shift_index(instant)
        return Shift(k, self.handoff(k), self.handoff(k + 1), self.participants[k % len(self.participants)])

    def active_at(self, instant: datetime) -> bool:
        return self.starts_at <= instant and (self.ends_at is None or instant < self.ends_at)

    def user_at(self, instant: datetime):
        """Who this layer puts on call at `instant`, or None where it does not cover."""
        if not self.participants or not self.active_at(instant):
            return None
        if self.restrictions and not restrictions_cover(self.restrictions, self.tz, instant):
            return None
        k = self.shift_index(instant)
        return self.participants[k % len(self.participants)]

    def shifts(self, start: datetime, end: datetime) -> list[Shift]:
        """Raw shifts overlapping [start, end) within the layer's life, cut at the edges."""
        start = max(start, self.starts_at)
        if self.ends_at is not None:
            end = min(end, self.ends_at)
        if start >= end or not self.participants:
            return []
        n = len(self.participants)
        k = self.shift_index(start)
        result = []
        s = self.handoff(k)
        while s < end:
            e = self.handoff(k + 1)
            if e > start and e > s:
                result.append(Shift(k, max(s, start), min(e, end), self.participants[k % n]))
            k += 1
            s = e
        return result

    def segments(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime, object]]:
        """(start, end, user) where this layer covers [start, end): shifts ∩ restrictions."""
        shifts = self.shifts(start, end)
        if not shifts:
            return []
        if not self.restrictions:
            return [(s.start, s.end, s.user) for s in shifts]
        windows = restriction_windows(self.restrictions, self.tz, shifts[0].start, shifts[-1].end)
        result = []
        i = 0
        for shift in shifts:
            while i < len(windows) and windows[i][1] <= shift.start:
                i += 1
            j = i
            while j < len(windows) and windows[j][0] < shift.end:
                s, e = max(windows[j][0], shift.start), min(windows[j][1], shift.end)
                if s < e:
                    result.append((s, e, shift.user))
                j += 1
        return result


@dataclass(frozen=True)
class OverridePlan:
    start: datetime
    end: datetime
    user: object
    order: tuple = (0,)
    id: object = None


@dataclass(eq=False)
class SchedulePlan:
    tz: ZoneInfo
    layers: list[LayerPlan]
    overrides: list[OverridePlan] = field(default_factory=list)
    users: dict = field(default_factory=dict)
    id: object = None

    def __post_init__(self):
        self.layers = sorted(self.layers, key=lambda layer: layer.rank, reverse=True)
        self.overrides = sorted(self.overrides, key=lambda o: o.start)
        self._override_starts = [o.start for o in self.overrides]
        self._longest_override = max((o.end - o.start for o in self.overrides), default=timedelta(0))
        self._override_edges = sorted({o.start for o in self.overrides} | {o.end for o in self.overrides})


def make_layer(
    *,
    time_zone: str | ZoneInfo,
    rotation_start: datetime,
    shift_length: int,
    shift_unit: str,
    participants: Iterable,
    restrictions=(),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    priority: int = 0,
    id=None,
) -> LayerPlan:
    """A LayerPlan: the one builder, for plain values, rows (`oncall.load_plans`) and saved
    layers (`Layer.plan`). `time_zone` is a name or a ZoneInfo; `restrictions` are Restriction
    objects or their JSON form. Layers rank by (priority, id), the higher masking the lower."""
    tz = get_zone(time_zone) if isinstance(time_zone, str) else time_zone
    if restrictions and not isinstance(restrictions[0], Restriction):
        restrictions = parse_restrictions(list(restrictions))
    return LayerPlan(
        tz=tz,
        rotation_start=rotation_start,
        shift_length=shift_length,
        shift_unit=shift_unit,
        participants=tuple(participants),
        restrictions=tuple(restrictions),
        starts_at=starts_at,
        ends_at=ends_at,
        priority=priority,
        id=id,
        rank=(priority, 0 if id is None else id),
    )


def make_plan(*, time_zone: str | ZoneInfo, layers: Iterable[LayerPlan], overrides: Iterable = (), users=None):
    """A SchedulePlan from plain values. Overrides may be OverridePlans or (start, end, user) tuples;
    later ones in the list win over earlier ones where they overlap."""
    tz = get_zone(time_zone) if isinstance(time_zone, str) else time_zone
    plans = []
    for number, item in enumerate(overrides):
        if isinstance(item, OverridePlan):
            plans.append(item)
        else:
            start, end, user = item
            plans.append(OverridePlan(ensure_aware(start, "start"), ensure_aware(end, "end"), user, (number,)))
    return SchedulePlan(tz=tz, layers=list(layers), overrides=plans, users=users or {})
