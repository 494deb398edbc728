"""Restrictions: the local hours of the week a layer covers.

A restriction is `{"days": ["mon", …], "start": "HH:MM", "end": "HH:MM"}` in the
schedule's zone, read on its wall clock (project.clock); `end <= start` wraps past
midnight and `start == end` is 24 hours. Intervals are half-open [start, end).
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from project.clock import ClockError, localize, wall_clock

# Input the schedule math cannot accept; the message says why. The clock's own error (a bad
# zone name, a naive instant) is the same class, so one `except ScheduleError` catches all.
ScheduleError = ClockError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


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
def restrictions_from_text(text: str | None) -> tuple[Restriction, ...]:
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


def restriction_next_edge(restrictions: Sequence[Restriction], tz: ZoneInfo, x: datetime) -> datetime | None:
    """The first start or end of a restriction interval after x, or None when none comes within eight days."""
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


def restriction_prev_edge(restrictions: Sequence[Restriction], tz: ZoneInfo, x: datetime) -> datetime | None:
    """The last start or end of a restriction interval at or before x, or None when none lies within eight days."""
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


_LINE = re.compile(r"^\s*(?P<days>[a-z,\-\s]+?)\s+(?P<start>\d{1,2}:\d{2})\s*[-–]\s*(?P<end>\d{1,2}:\d{2})\s*$", re.I)


def _days_of(text: str, where: str) -> list[str]:
    days = []
    for part in re.split(r"\s*,\s*", text.strip().lower()):
        first, dash, last = part.partition("-")
        if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
            raise ScheduleError(
                _("%(where)s: %(days)s are not weekdays; write e.g. mon-fri or sat,sun.")
                % {"where": where, "days": repr(part)}
            )
        low = WEEKDAYS.index(first)
        high = WEEKDAYS.index(last) if dash else low
        span = range(low, high + 1) if low <= high else [*range(low, 7), *range(0, high + 1)]
        days += [WEEKDAYS[i] for i in span if WEEKDAYS[i] not in days]
    return days


def restrictions_from_lines(text: str | None) -> list[dict]:
    """The JSON form of restrictions written one per line, as a person writes them: `mon-fri 09:00-18:00`,
    `sat,sun 10:00-14:00`, `daily 22:00-06:00` (past midnight). Raises ScheduleError naming the line."""
    raw = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        where = _("Line %(number)s") % {"number": number}
        found = _LINE.match(line)
        if found is None:
            raise ScheduleError(
                _("%(where)s: write the days and a time range, e.g. mon-fri 09:00-18:00.") % {"where": where}
            )
        start, end = (value.zfill(5) for value in (found["start"], found["end"]))
        days = found["days"].strip().lower()
        entry = {"start": start, "end": end}
        if days not in ("daily", "every day", "all"):
            entry = {"days": _days_of(days, where), **entry}
        raw.append(entry)
    parse_restrictions(raw)  # the same checks as the JSON form: times, days
    return raw


def restrictions_to_lines(raw) -> str:
    """Restrictions in their JSON form, one per line (see `restrictions_from_lines`)."""
    lines = []
    for item in raw or []:
        days = item.get("days")
        if not days or len(days) == 7:
            label = "daily"
        else:
            indices = sorted(WEEKDAYS.index(day.lower()) for day in days)
            contiguous = indices == list(range(indices[0], indices[-1] + 1))
            if contiguous and len(indices) > 2:
                label = f"{WEEKDAYS[indices[0]]}-{WEEKDAYS[indices[-1]]}"
            else:
                label = ",".join(WEEKDAYS[i] for i in indices)
        lines.append(f"{label} {item['start']}-{item['end']}")
    return "\n".join(lines)
