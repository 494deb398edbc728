"""Who is on call: the schedule math.

Everything here works on plain values (`LayerPlan`, `OverridePlan`,
`SchedulePlan`) so it is fast and easy to test; `plan_for()` turns a saved
`Schedule` (with its layers, participants and overrides, prefetched or not)
into a plan, and the functions at the bottom answer the questions other apps
ask: `users_on_call(schedule, at)`, `oncall(schedule, at)`,
`shifts(schedule, start, end)`.

Time follows docs/schedules.md: handoffs step on the local wall clock of the
schedule's zone; a local time that does not exist (spring forward) means the
first instant after the gap, an ambiguous one (fall back) its first
occurrence; every interval is half-open [start, end).
"""

from __future__ import annotations

import bisect
import calendar
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

HOURS, DAYS, WEEKS, MONTHS = "hours", "days", "weeks", "months"
UNITS = (HOURS, DAYS, WEEKS, MONTHS)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

SOURCE_OVERRIDE = "override"
SOURCE_LAYER = "layer"
SOURCE_NONE = "none"

# What callers of users_on_call() usually read; other fields load when first used.
SUMMARY_USER_FIELDS = ("id", "username", "first_name", "last_name", "email", "is_active")

# Longest window the shift questions answer, and how far `oncall` looks for
# the edges of the segment containing an instant.
MAX_WINDOW = timedelta(days=366)

_NOMINAL_SECONDS = {HOURS: 3600, DAYS: 86400, WEEKS: 7 * 86400, MONTHS: 30.436875 * 86400}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ScheduleError(ValueError):
    """Input the schedule math cannot accept; the message says why."""


# --- time zones and the local wall clock -------------------------------------------------------


def get_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or ScheduleError."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise ScheduleError(_("%(name)s is not an IANA time zone name.") % {"name": repr(name)})
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(
            _("Unknown time zone %(name)s; use an IANA name such as Europe/Zurich.") % {"name": repr(name)}
        ) from None


@lru_cache(maxsize=65536)
def localize(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall-clock time in `tz`.

    An ambiguous wall time gives its first occurrence; one that does not exist
    (inside a spring-forward gap) gives the first instant after the gap.
    """
    utc = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == wall:
        return utc
    # Inside a gap: the transition lies in (before, utc]; find it to the second.
    before = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    old_offset = before.astimezone(tz).utcoffset()
    lo, hi = 0, int((utc - before).total_seconds())
    while lo < hi:
        mid = (lo + hi) // 2
        if (before + timedelta(seconds=mid)).astimezone(tz).utcoffset() == old_offset:
            lo = mid + 1
        else:
            hi = mid
    return before + timedelta(seconds=lo)


def wall_clock(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock reading of an aware instant in `tz`."""
    return instant.astimezone(tz).replace(tzinfo=None)


def add_months(wall: datetime, months: int) -> datetime:
    """`wall` moved by whole months; the day is clamped to the month's last day (Jan 31 → Feb 28)."""
    index = wall.year * 12 + (wall.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(wall.day, calendar.monthrange(year, month)[1])
    return wall.replace(year=year, month=month, day=day)


def _months_between(a: datetime, b: datetime) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def ensure_aware(value: datetime, name: str = "instant") -> datetime:
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value
    if not isinstance(value, datetime):
        raise ScheduleError(_("%(name)s must be a datetime.") % {"name": name})
    if value.tzinfo is None or value.utcoffset() is None:
        raise ScheduleError(_("%(name)s must carry a time zone.") % {"name": name})
    return value.astimezone(UTC)


# --- restrictions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restriction:
    """Covers [start, end) local time, starting on the given weekdays (0 = Monday)."""

    days: frozenset[int]
    start: time
    end: time

    @property
    def wraps(self) -> bool:
        return self.end <= self.start

    def interval_on(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        start_wall = datetime.combine(day, self.start)
        end_day = day + timedelta(days=1) if self.wraps else day
        return localize(start_wall, tz), localize(datetime.combine(end_day, self.end), tz)

    def as_json(self) -> dict:
        return {
            "days": [WEEKDAYS[d] for d in sorted(self.days)],
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }


def _parse_hhmm(value, where: str) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ScheduleError(
            _("%(where)s must be a time written HH:MM (00:00–23:59), not %(value)s.")
            % {"where": where, "value": repr(value)}
        )
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def parse_restrictions(raw) -> tuple[Restriction, ...]:
    """Validate the JSON form (see `_parse_restrictions`), remembering recent answers."""
    if not raw:
        return _parse_restrictions(raw)
    try:
        key = json.dumps(raw, sort_keys=True)
    except (TypeError, ValueError):
        return _parse_restrictions(raw)
    return _parse_restrictions_cached(key)


@lru_cache(maxsize=1024)
def _parse_restrictions_cached(key: str) -> tuple[Restriction, ...]:
    return _parse_restrictions(json.loads(key))


@lru_cache(maxsize=1024)
def _restrictions_from_text(text: str | None) -> tuple[Restriction, ...]:
    """Restrictions stored as JSON text (read without decoding each row)."""
    if not text:
        return ()
    return parse_restrictions(json.loads(text))


def _parse_restrictions(raw) -> tuple[Restriction, ...]:
    """Validate the JSON form `[{"days": ["mon", …], "start": "HH:MM", "end": "HH:MM"}, …]`.

    `days` may be left out (every day). Raises ScheduleError naming the entry.
    """
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise ScheduleError(_("Restrictions must be a list of {days, start, end} objects."))
    parsed = []
    for number, item in enumerate(raw, start=1):
        where = _("Restriction %(number)s") % {"number": number}
        if not isinstance(item, dict):
            raise ScheduleError(_("%(where)s must be an object with days, start and end.") % {"where": where})
        unknown_keys = set(item) - {"days", "start", "end"}
        if unknown_keys:
            raise ScheduleError(
                _("%(where)s has unknown key(s): %(keys)s.")
                % {"where": where, "keys": ", ".join(sorted(map(str, unknown_keys)))}
            )
        for key in ("start", "end"):
            if key not in item:
                raise ScheduleError(_("%(where)s needs '%(key)s' (HH:MM).") % {"where": where, "key": key})
        days = item.get("days", list(WEEKDAYS))
        if not isinstance(days, list) or not days:
            raise ScheduleError(
                _("%(where)s: 'days' must be a non-empty list of weekdays (mon … sun).") % {"where": where}
            )
        numbers = set()
        for day in days:
            if not isinstance(day, str) or day.lower() not in WEEKDAYS:
                raise ScheduleError(
                    _("%(where)s: unknown weekday %(day)s; use %(days)s.")
                    % {"where": where, "day": repr(day), "days": ", ".join(WEEKDAYS)}
                )
            numbers.add(WEEKDAYS.index(day.lower()))
        parsed.append(
            Restriction(
                days=frozenset(numbers),
                start=_parse_hhmm(item["start"], f"{where}: 'start'"),
                end=_parse_hhmm(item["end"], f"{where}: 'end'"),
            )
        )
    return tuple(parsed)


def restriction_windows(
    restrictions: Sequence[Restriction], tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The merged UTC intervals inside [start, end) that the restrictions cover."""
    if start >= end:
        return []
    first = wall_clock(start, tz).date() - timedelta(days=1)
    last = wall_clock(end, tz).date()
    raw = []
    day = first
    while day <= last:
        weekday = day.weekday()
        for restriction in restrictions:
            if weekday in restriction.days:
                s, e = restriction.interval_on(day, tz)
                if s < end and e > start and s < e:
                    raw.append((max(s, start), min(e, end)))
        day += timedelta(days=1)
    raw.sort()
    merged: list[tuple[datetime, datetime]] = []
    for s, e in raw:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def restrictions_cover(restrictions: Sequence[Restriction], tz: ZoneInfo, instant: datetime) -> bool:
    if not restrictions:
        return True
    today = wall_clock(instant, tz).date()
    for day in (today, today - timedelta(days=1)):
        weekday = day.weekday()
        for restriction in restrictions:
            if weekday in restriction.days:
                s, e = restriction.interval_on(day, tz)
                if s <= instant < e:
                    return True
    return False


# --- plans -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shift:
    """One raw shift of a layer: handoff k to handoff k+1, held by `user`."""

    index: int
    start: datetime
    end: datetime
    user: object


@dataclass(frozen=True)
class Segment:
    """A piece of the final schedule. `user` is None for a gap (source "none")."""

    start: datetime | None
    end: datetime | None
    user: object
    source: str
    layer: object = None

    @property
    def is_gap(self) -> bool:
        return self.source == SOURCE_NONE


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
            months = _months_between(self._anchor_wall, wall_clock(instant, self.tz))
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
    """A LayerPlan from plain values; `restrictions` may be the JSON form."""
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


# --- the final schedule ------------------------------------------------------------------------


def override_at(plan: SchedulePlan, instant: datetime) -> OverridePlan | None:
    """The override covering `instant`; the most recently created wins."""
    best = None
    stop = bisect.bisect_right(plan._override_starts, instant)
    earliest = instant - plan._longest_override
    for i in range(stop - 1, -1, -1):
        candidate = plan.overrides[i]
        if candidate.start < earliest:
            break
        if candidate.end > instant and (best is None or candidate.order > best.order):
            best = candidate
    return best


def who_at(plan: SchedulePlan, instant: datetime) -> tuple[object, str, object]:
    """(user key, source, layer id) at `instant`; (None, "none", None) in a gap."""
    return _winner(plan, ensure_aware(instant))[:3]


def _winner(plan: SchedulePlan, instant: datetime) -> tuple[object, str, object, int]:
    """who_at() plus how many of plan.layers (by rank) can change the answer next:
    none under an override, the winner and those above it, or all of them in a gap."""
    override = override_at(plan, instant)
    if override is not None:
        return override.user, SOURCE_OVERRIDE, None, 0
    for index, layer in enumerate(plan.layers):
        user = layer.user_at(instant)
        if user is not None:
            return user, SOURCE_LAYER, layer.id, index + 1
    return None, SOURCE_NONE, None, len(plan.layers)


def final_segments(plan: SchedulePlan, start: datetime, end: datetime) -> list[Segment]:
    """The final schedule over [start, end): chronological segments that tile the window
    exactly, gaps included (source "none"), consecutive pieces with the same user,
    source and layer merged, cut at the window's edges."""
    start, end = ensure_aware(start, "start"), ensure_aware(end, "end")
    if start >= end:
        return []
    layer_segments = [layer.segments(start, end) for layer in plan.layers]
    first = bisect.bisect_left(plan._override_starts, start - plan._longest_override)
    last = bisect.bisect_left(plan._override_starts, end)
    overrides = [
        OverridePlan(max(o.start, start), min(o.end, end), o.user, o.order)
        for o in plan.overrides[first:last]
        if o.end > start
    ]
    points = {start, end}
    for segments in layer_segments:
        for s, e, _user in segments:
            points.add(s)
            points.add(e)
    for o in overrides:
        points.add(o.start)
        points.add(o.end)
    ordered = sorted(points)

    pointers = [0] * len(layer_segments)
    active: list[OverridePlan] = []
    next_override = 0
    pieces: list[list] = []
    for p, q in itertools.pairwise(ordered):
        while next_override < len(overrides) and overrides[next_override].start <= p:
            active.append(overrides[next_override])
            next_override += 1
        if active:
            active = [o for o in active if o.end > p]
        if active:
            best = max(active, key=lambda o: o.order)
            piece = (best.user, SOURCE_OVERRIDE, None)
        else:
            piece = (None, SOURCE_NONE, None)
            for number, segments in enumerate(layer_segments):
                i = pointers[number]
                while i < len(segments) and segments[i][1] <= p:
                    i += 1
                pointers[number] = i
                if i < len(segments) and segments[i][0] <= p:
                    piece = (segments[i][2], SOURCE_LAYER, plan.layers[number].id)
                    break
        if pieces and pieces[-1][1] == p and pieces[-1][2:] == list(piece):
            pieces[-1][1] = q
        else:
            pieces.append([p, q, *piece])
    return [Segment(s, e, user, source, layer) for s, e, user, source, layer in pieces]


_ONE_MICROSECOND = timedelta(microseconds=1)
_WALK_STEPS = 48


def _restriction_next_edge(restrictions, tz, x):
    day0 = wall_clock(x, tz).date()
    best = None
    for offset in range(-1, 9):
        day = day0 + timedelta(days=offset)
        weekday = day.weekday()
        for restriction in restrictions:
            if weekday in restriction.days:
                for edge in restriction.interval_on(day, tz):
                    if edge > x and (best is None or edge < best):
                        best = edge
        if best is not None and offset >= 1:
            break
    return best


def _restriction_prev_edge(restrictions, tz, x):
    day0 = wall_clock(x, tz).date()
    best = None
    for offset in range(1, -9, -1):
        day = day0 + timedelta(days=offset)
        weekday = day.weekday()
        for restriction in restrictions:
            if weekday in restriction.days:
                for edge in restriction.interval_on(day, tz):
                    if edge <= x and (best is None or edge > best):
                        best = edge
        # Intervals starting on earlier days end before the start of the day after `day`.
        if best is not None and best >= localize(datetime.combine(day + timedelta(days=1), time(0)), tz):
            break
    return best


def _layer_next_edge(layer: LayerPlan, x: datetime):
    """The first instant after x where this layer's answer may change, or None."""
    if not layer.participants:
        return None
    if x < layer.starts_at:
        return layer.starts_at
    if layer.ends_at is not None and x >= layer.ends_at:
        return None
    best = layer.handoff(layer.shift_index(x) + 1)
    if layer.ends_at is not None and layer.ends_at < best:
        best = layer.ends_at
    if layer.restrictions:
        edge = _restriction_next_edge(layer.restrictions, layer.tz, x)
        if edge is not None and edge < best:
            best = edge
    return best


def _layer_prev_edge(layer: LayerPlan, x: datetime):
    """The last instant at or before x where this layer's answer may have changed, or None."""
    if not layer.participants or x < layer.starts_at:
        return None
    if layer.ends_at is not None and x >= layer.ends_at:
        return layer.ends_at
    best = max(layer.handoff(layer.shift_index(x)), layer.starts_at)
    if layer.restrictions:
        edge = _restriction_prev_edge(layer.restrictions, layer.tz, x)
        if edge is not None and edge > best:
            best = edge
    return best


def _next_edge(plan: SchedulePlan, x: datetime, relevant: int):
    edges = [e for e in (_layer_next_edge(layer, x) for layer in plan.layers[:relevant]) if e is not None]
    i = bisect.bisect_right(plan._override_edges, x)
    if i < len(plan._override_edges):
        edges.append(plan._override_edges[i])
    return min(edges) if edges else None


def _prev_edge(plan: SchedulePlan, x: datetime, relevant: int):
    edges = [e for e in (_layer_prev_edge(layer, x) for layer in plan.layers[:relevant]) if e is not None]
    i = bisect.bisect_right(plan._override_edges, x)
    if i > 0:
        edges.append(plan._override_edges[i - 1])
    return max(edges) if edges else None


def _walk_segment(plan: SchedulePlan, instant: datetime, horizon: timedelta) -> Segment | None:
    """The segment containing `instant`, found by stepping from edge to edge; None when
    it takes more than a few steps (then the window search is quicker)."""
    # Only the edges of what wins at x (and of what ranks above it) can change the answer.
    user, source, layer, first_relevant = _winner(plan, instant)
    key = (user, source, layer)
    end = None
    x, relevant = instant, first_relevant
    for _step in range(_WALK_STEPS):
        edge = _next_edge(plan, x, relevant)
        if edge is None or edge >= instant + horizon:
            break
        *there, relevant = _winner(plan, edge)
        if tuple(there) != key:
            end = edge
            break
        x = edge
    else:
        return None
    start = None
    x, relevant = instant, first_relevant
    for _step in range(_WALK_STEPS):
        edge = _prev_edge(plan, x, relevant)
        if edge is None or edge <= instant - horizon:
            break
        *there, relevant = _winner(plan, edge - _ONE_MICROSECOND)
        if tuple(there) != key:
            start = edge
            break
        x = edge - _ONE_MICROSECOND
    else:
        return None
    return Segment(start, end, user, source, layer)


def segment_at(plan: SchedulePlan, instant: datetime, *, horizon: timedelta = MAX_WINDOW) -> Segment:
    """The merged final-schedule segment containing `instant`. An edge further than
    `horizon` away is None (e.g. a one-person layer with no end)."""
    instant = ensure_aware(instant)
    found = _walk_segment(plan, instant, horizon)
    if found is not None:
        return found
    return _segment_by_window(plan, instant, horizon)


def _segment_by_window(plan: SchedulePlan, instant: datetime, horizon: timedelta) -> Segment:
    reach = timedelta(days=1)
    while True:
        reach = min(reach, horizon)
        segments = final_segments(plan, instant - reach, instant + reach)
        found = next(s for s in segments if s.start <= instant < s.end)
        open_start = found.start == instant - reach
        open_end = found.end == instant + reach
        if not (open_start or open_end):
            return found
        if reach >= horizon:
            return Segment(
                None if open_start else found.start,
                None if open_end else found.end,
                found.user,
                found.source,
                found.layer,
            )
        reach *= 4


def split_gaps(segments: Iterable[Segment]) -> tuple[list[Segment], list[Segment]]:
    """(shifts, gaps) of a list of final segments."""
    shifts, gaps = [], []
    for segment in segments:
        (gaps if segment.is_gap else shifts).append(segment)
    return shifts, gaps


# --- the questions other apps ask, on saved schedules ------------------------------------------


@dataclass(frozen=True)
class OnCall:
    """The answer of `oncall()`: `users` (User objects), where it comes from, and the
    final-schedule segment containing `at` (None in a gap)."""

    schedule: object
    at: datetime
    users: list
    source: str
    layer: object
    shift: Segment | None


def _now():
    from django.utils import timezone

    return timezone.now()


def prefetch_for_oncall(queryset, *, start: datetime | None = None, end: datetime | None = None):
    """`queryset` of schedules with everything `plan_for()` reads, in a fixed number of
    queries. With start/end, only overrides that overlap that window are fetched."""
    from django.db.models import Prefetch

    from rotations.models import Layer, Override, Participant

    overrides = Override.objects.select_related("user").order_by("start")
    if start is not None:
        overrides = overrides.filter(end__gt=start)
    if end is not None:
        overrides = overrides.filter(start__lt=end)
    return queryset.prefetch_related(
        Prefetch(
            "layers",
            queryset=Layer.objects.order_by("id").prefetch_related(
                Prefetch("participants", queryset=Participant.objects.select_related("user").order_by("position"))
            ),
        ),
        Prefetch("overrides", queryset=overrides, to_attr="oncall_overrides"),
    )


class UserRows:
    """User ids to User objects, built from fetched rows only when first asked for
    (a thousand schedules name thousands of people; few of them are on call)."""

    def __init__(self, model, db):
        self.model = model
        self.db = db
        self.rows: dict = {}
        self._users: dict = {}

    def __getitem__(self, pk):
        user = self._users.get(pk)
        if user is None:
            user = self._users[pk] = self.model.from_db(self.db, SUMMARY_USER_FIELDS, self.rows[pk])
        return user

    def get(self, pk, default=None):
        try:
            return self[pk]
        except KeyError:
            return default

    def __contains__(self, pk):
        return pk in self.rows


def load_plans(schedules, *, start: datetime | None = None, end: datetime | None = None) -> list:
    """Evaluate `schedules` (a queryset) and attach each one's plan, in five queries
    whatever their number. With start/end, only overrides overlapping that window are
    read. Returns the schedules; `plan_for()` and the functions below then use the plans."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q, TextField
    from django.db.models.functions import Cast

    from rotations.models import Layer, Override, Participant

    schedule_list = list(schedules)
    if not schedule_list:
        return schedule_list
    subquery = schedules.values("pk") if hasattr(schedules, "values") else [s.pk for s in schedule_list]
    layer_rows = list(
        Layer.objects.filter(schedule__in=subquery)
        .order_by("id")
        .annotate(restrictions_text=Cast("restrictions", TextField()))
        .values_list(
            "id",
            "schedule_id",
            "priority",
            "rotation_start",
            "starts_at",
            "ends_at",
            "shift_length",
            "shift_unit",
            "restrictions_text",
        )
    )
    participants: dict = {}
    for layer_id, user_id in (
        Participant.objects.filter(layer__schedule__in=subquery)
        .order_by("layer_id", "position")
        .values_list("layer_id", "user_id")
    ):
        participants.setdefault(layer_id, []).append(user_id)
    overrides = Override.objects.filter(schedule__in=subquery)
    if start is not None:
        overrides = overrides.filter(end__gt=start)
    if end is not None:
        overrides = overrides.filter(start__lt=end)
    override_rows = list(overrides.values_list("id", "schedule_id", "user_id", "start", "end", "created_at"))
    users = UserRows(get_user_model(), getattr(schedules, "db", "default"))
    if participants or override_rows:
        taking_part = Participant.objects.filter(layer__schedule__in=subquery).values("user_id")
        users.rows = {
            row[0]: row
            for row in get_user_model()
            .objects.filter(Q(pk__in=taking_part) | Q(pk__in=overrides.values("user_id")))
            .values_list(*SUMMARY_USER_FIELDS)
        }

    by_schedule = {s.pk: ([], []) for s in schedule_list}
    zones = {s.pk: get_zone(s.time_zone) for s in schedule_list}
    for layer_id, schedule_id, priority, rotation_start, starts_at, ends_at, length, unit, restrictions in layer_rows:
        by_schedule[schedule_id][0].append(
            LayerPlan(
                tz=zones[schedule_id],
                rotation_start=rotation_start,
                shift_length=length,
                shift_unit=unit,
                participants=tuple(participants.get(layer_id, ())),
                restrictions=_restrictions_from_text(restrictions),
                starts_at=starts_at or rotation_start,
                ends_at=ends_at,
                priority=priority,
                id=layer_id,
                rank=(priority, layer_id),
            )
        )
    for override_id, schedule_id, user_id, o_start, o_end, created_at in override_rows:
        by_schedule[schedule_id][1].append(
            OverridePlan(o_start, o_end, user_id, (created_at, override_id), override_id)
        )
    for schedule in schedule_list:
        layers, plans = by_schedule[schedule.pk]
        schedule._oncall_plan = SchedulePlan(
            tz=zones[schedule.pk], layers=layers, overrides=plans, users=users, id=schedule.pk
        )
    return schedule_list


def plan_for(schedule) -> SchedulePlan:
    """The SchedulePlan of a saved Schedule, kept on the instance. Reads its layers,
    participants and overrides (prefetched by `prefetch_for_oncall` or `load_plans`,
    else queried here in five queries)."""
    cached = getattr(schedule, "_oncall_plan", None)
    if cached is not None:
        return cached
    if "layers" not in getattr(schedule, "_prefetched_objects_cache", {}):
        load_plans([schedule])
        return schedule._oncall_plan
    tz = get_zone(schedule.time_zone)
    users = {}
    layers = []
    for layer in schedule.layers.all():
        participants = []
        for participant in layer.participants.all():
            users[participant.user_id] = participant.user
            participants.append(participant.user_id)
        layers.append(
            LayerPlan(
                tz=tz,
                rotation_start=layer.rotation_start,
                shift_length=layer.shift_length,
                shift_unit=layer.shift_unit,
                participants=tuple(participants),
                restrictions=parse_restrictions(layer.restrictions),
                starts_at=layer.starts_at or layer.rotation_start,
                ends_at=layer.ends_at,
                priority=layer.priority,
                id=layer.pk,
                rank=(layer.priority, layer.pk),
            )
        )
    overrides_source = getattr(schedule, "oncall_overrides", None)
    if overrides_source is None:
        overrides_source = schedule.overrides.select_related("user").all()
    overrides = []
    for override in overrides_source:
        users[override.user_id] = override.user
        overrides.append(
            OverridePlan(
                override.start, override.end, override.user_id, (override.created_at, override.pk), override.pk
            )
        )
    plan = SchedulePlan(tz=tz, layers=layers, overrides=overrides, users=users, id=schedule.pk)
    schedule._oncall_plan = plan
    return plan


def forget_plan(schedule) -> None:
    """Drop the plan cached on a schedule instance (after changing its layers or overrides)."""
    schedule.__dict__.pop("_oncall_plan", None)


def oncall(schedule, at: datetime | None = None) -> OnCall:
    """Who is on call on `schedule` at `at` (default now), and the segment containing it."""
    at = ensure_aware(at, "at") if at is not None else _now()
    plan = plan_for(schedule)
    user, source, layer = who_at(plan, at)
    shift = segment_at(plan, at) if user is not None else None
    users = [plan.users[user]] if user is not None else []
    return OnCall(schedule=schedule, at=at, users=users, source=source, layer=layer, shift=shift)


def users_on_call(schedule, at: datetime | None = None) -> list:
    """The users on call on `schedule` at `at` (default now): [] in a gap.

    This is what the escalation engine pages.
    """
    at = ensure_aware(at, "at") if at is not None else _now()
    plan = plan_for(schedule)
    user, _source, _layer = who_at(plan, at)
    return [plan.users[user]] if user is not None else []


def check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ScheduleError(_("The end must be after the start."))
    if end - start > MAX_WINDOW:
        raise ScheduleError(_("The window may be at most %(days)s days long.") % {"days": MAX_WINDOW.days})


def shifts(schedule, start: datetime, end: datetime) -> list[Segment]:
    """The final schedule of `schedule` over [start, end), gaps included. Segment.user
    is a User (None in a gap). Windows longer than MAX_WINDOW raise ScheduleError."""
    start, end = ensure_aware(start, "start"), ensure_aware(end, "end")
    check_window(start, end)
    plan = plan_for(schedule)
    return [
        Segment(s.start, s.end, plan.users.get(s.user) if s.user is not None else None, s.source, s.layer)
        for s in final_segments(plan, start, end)
    ]


def gaps(schedule, start: datetime, end: datetime) -> list[Segment]:
    """The coverage gaps of `schedule` over [start, end)."""
    return [s for s in shifts(schedule, start, end) if s.is_gap]


def now_and_next(schedule, at: datetime | None = None) -> tuple[Segment, Segment | None]:
    """The final segment containing `at` (a gap or a shift) and the one after it
    within MAX_WINDOW (None if nothing changes). Users are User objects."""
    at = ensure_aware(at, "at") if at is not None else _now()
    plan = plan_for(schedule)
    current = segment_at(plan, at)
    following = None
    if current.end is not None:
        following = segment_at(plan, current.end)
    return _with_user(plan, current), (_with_user(plan, following) if following else None)


def _with_user(plan: SchedulePlan, segment: Segment) -> Segment:
    user = plan.users.get(segment.user) if segment.user is not None else None
    return Segment(segment.start, segment.end, user, segment.source, segment.layer)


def shifts_for_user(user, start: datetime, end: datetime, schedules=None) -> list[tuple[object, Segment]]:
    """(schedule, segment) for every final-schedule segment held by `user` over [start, end),
    across `schedules` (default: every schedule where the user takes part or has an override)."""
    from django.db.models import Q

    from rotations.models import Schedule

    start, end = ensure_aware(start, "start"), ensure_aware(end, "end")
    check_window(start, end)
    if schedules is None:
        schedules = Schedule.objects.filter(
            Q(layers__participants__user=user) | Q(overrides__user=user, overrides__end__gt=start)
        ).distinct()
        schedules = load_plans(schedules, start=start - MAX_WINDOW, end=end)
    result = []
    for schedule in schedules:
        for segment in final_segments(plan_for(schedule), start, end):
            if segment.user == user.pk:
                result.append((schedule, Segment(segment.start, segment.end, user, segment.source, segment.layer)))
    result.sort(key=lambda pair: (pair[1].start, pair[0].pk))
    return result
