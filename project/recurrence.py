"""When a window is active (release windows and freezes, maintenance windows): cron, one-off and
public-holiday windows.

Cron windows follow GitLab's deploy freezes: a window is active at t when the
latest start at or before t is later than the latest end at or before t. Cron
expressions are read on the local wall clock of the window's zone, so
"Friday 12:00 to Monday 08:00" stays 08:00 across daylight saving time; local
times become instants by the one DST rule of project.clock (a time in a gap
means the first instant after it, an ambiguous one its first occurrence).
Occurrences are half-open: active at their start, not at their end.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

import holidays
from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterBadCronError, CroniterBadDateError, croniter
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from project import clock
from project.clock import localize, wall_clock

# How far around t a cron search starts, to cover an ambiguous (fall-back) hour.
FOLD_MARGIN = timedelta(hours=3)
MAX_STEPS = 400
CACHE_SIZE = 20_000


class Occurrence(NamedTuple):
    start: datetime
    end: datetime

    def contains(self, t):
        return self.start <= t < self.end


def _margin(tz, t):
    """How far from t's wall-clock reading a cron search must start: wide only near a clock change."""
    if tz.utcoffset(wall_clock(t - FOLD_MARGIN, tz)) != tz.utcoffset(wall_clock(t + FOLD_MARGIN, tz)):
        return FOLD_MARGIN
    return timedelta(minutes=1)


def _latest_at_or_before(expr, tz, t):
    """The latest instant matching a cron expression at or before t, or None."""
    it = croniter(expr, wall_clock(t, tz) + _margin(tz, t))
    try:
        for _step in range(MAX_STEPS):
            candidate = localize(it.get_prev(datetime), tz)
            if candidate <= t:
                return candidate
    except CroniterBadDateError:
        return None
    return None


def _first_after(expr, tz, t, *, inclusive=False):
    """The first instant matching a cron expression after t (or at t), or None."""
    it = croniter(expr, wall_clock(t, tz) - _margin(tz, t))
    try:
        for _step in range(MAX_STEPS):
            candidate = localize(it.get_next(datetime), tz)
            if candidate > t or (inclusive and candidate == t):
                return candidate
    except CroniterBadDateError:
        return None
    return None


def _cron_occurrences(window, start, end):
    """Occurrences overlapping [start, end), found start to end, one croniter search per change."""
    tz, start_cron, end_cron = window.zone, window.start_cron, window.end_cron
    latest_start = _latest_at_or_before(start_cron, tz, start)
    latest_end = _latest_at_or_before(end_cron, tz, start)
    opened = None
    if latest_start is not None and (latest_end is None or latest_start > latest_end):
        # Active since the first start after the last end, however many starts came since.
        opened = (_first_after(start_cron, tz, latest_end) if latest_end else None) or latest_start
    cursor = start
    found = []
    for _step in range(MAX_STEPS):
        if opened is None:
            begins = _first_after(start_cron, tz, cursor)
            if begins is None or begins >= end:
                break
            if _first_after(end_cron, tz, begins, inclusive=True) == begins:
                cursor = begins  # a start and an end at once: the end wins
                continue
            opened = cursor = begins
        else:
            ends = _first_after(end_cron, tz, cursor)
            if ends is None:
                break
            found.append(Occurrence(opened, ends))
            opened, cursor = None, ends
            if ends >= end:
                break
    return found


@lru_cache(maxsize=256)
def _holiday_dates(country, subdivision, year):
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year).keys())


def holiday_names(window, day):
    table = holidays.country_holidays(window.holiday_country, subdiv=window.holiday_subdivision or None, years=day.year)
    return table.get(day)


def _is_holiday(window, day):
    return day in _holiday_dates(window.holiday_country, window.holiday_subdivision, day.year)


def _holiday_occurrences(window, start, end):
    tz = window.zone
    first = wall_clock(start, tz).date() - timedelta(days=1)
    last = wall_clock(end, tz).date() + timedelta(days=1)
    while _is_holiday(window, first):
        first -= timedelta(days=1)
    found = []
    day = first
    run_start = None
    while day <= last or run_start is not None:
        if _is_holiday(window, day):
            if run_start is None:
                run_start = day
        elif run_start is not None:
            occurrence = Occurrence(
                localize(datetime.combine(run_start, time()), tz), localize(datetime.combine(day, time()), tz)
            )
            if occurrence.end > start and occurrence.start < end:
                found.append(occurrence)
            run_start = None
        day += timedelta(days=1)
    return found


def occurrences(window, start, end):
    """The window's occurrences overlapping [start, end), each with its full start and end."""
    form = window.form
    if form == "cron":
        return _cron_occurrences(window, start, end)
    if form == "once":
        if window.starts_at < end and window.ends_at > start:
            return [Occurrence(window.starts_at, window.ends_at)]
        return []
    if form == "holidays":
        return _holiday_occurrences(window, start, end)
    return []


# Occurrences per (window, version, first day, last day); cleared whole when full.
_cache = {}
DAY = 86_400
WEEK = 7 * DAY


def cached_occurrences(window, start, end):
    """`occurrences` over whole UTC days, kept per window version (its `updated_at`)."""
    first = int(start.timestamp()) // DAY
    last = -(-int(end.timestamp()) // DAY)
    if last == first:
        last += 1
    return _cached(window, first, last)


def _cached(window, first, last):
    if window.id is None:
        return occurrences(window, _from_day(first), _from_day(last))
    key = (window.id, window.updated_at, first, last)
    found = _cache.get(key)
    if found is None:
        found = occurrences(window, _from_day(first), _from_day(last))
        if len(_cache) >= CACHE_SIZE:
            _cache.clear()
        _cache[key] = found
    return found


def _from_day(day):
    return datetime.fromtimestamp(day * DAY, tz=UTC)


def occurrence_at(window, t):
    """The occurrence active at t, or None (computed for t's whole week, so the cache turns over weekly)."""
    first = int(t.timestamp()) // WEEK * 7
    for occurrence in _cached(window, first, first + 7):
        if occurrence.start <= t < occurrence.end:
            return occurrence
    return None


def is_active(window, t):
    return occurrence_at(window, t) is not None


def next_occurrences(window, after, count=10, horizon=timedelta(days=3 * 366)):
    """Up to `count` occurrences that end after `after` (the current one first)."""
    span = timedelta(days=8)
    while True:
        found = [o for o in occurrences(window, after, after + span) if o.end > after]
        if len(found) >= count or span >= horizon:
            return found[:count]
        span *= 3


def next_change(window, t):
    """(next start, next end) after t: while active, the next start is the following occurrence's."""
    upcoming = next_occurrences(window, t, count=2)
    if not upcoming:
        return None, None
    first = upcoming[0]
    if first.start <= t:
        return (upcoming[1].start if len(upcoming) > 1 else None), first.end
    return first.start, first.end


def _cron_words(expr):
    options = Options()
    options.use_24hour_time_format = True
    options.locale_code = "fr_FR" if (get_language() or "en").startswith("fr") else "en_US"
    try:
        words = ExpressionDescriptor(expr, options).get_description()
    except Exception:  # words are a nicety; the cron itself was validated
        return expr
    return words[:1].lower() + words[1:]


def describe_rule(window):
    """The window's rule in words."""
    form = window.form
    if form == "cron":
        return _("starts %(start)s; ends %(end)s (%(zone)s)") % {
            "start": _cron_words(window.start_cron),
            "end": _cron_words(window.end_cron),
            "zone": window.time_zone,
        }
    if form == "once":
        return _("from %(start)s to %(end)s (%(zone)s)") % {
            "start": wall_clock(window.starts_at, window.zone).strftime("%Y-%m-%d %H:%M"),
            "end": wall_clock(window.ends_at, window.zone).strftime("%Y-%m-%d %H:%M"),
            "zone": window.time_zone,
        }
    if form == "holidays":
        place = window.holiday_country + (f"/{window.holiday_subdivision}" if window.holiday_subdivision else "")
        return _("public holidays of %(place)s, whole days (%(zone)s)") % {"place": place, "zone": window.time_zone}
    return ""


def describe_occurrence(occurrence, tz, *, dated=False):
    """'Fri 12:00 → Mon 08:00, Europe/Zurich', with dates when asked or when it lasts six days or more."""
    start = wall_clock(occurrence.start, tz)
    end = wall_clock(occurrence.end, tz)
    fmt = "%a %d %b %H:%M" if dated or end - start >= timedelta(days=6) else "%a %H:%M"
    return f"{start.strftime(fmt)} → {end.strftime(fmt)}, {tz.key}"


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


CRON_FIELD = re.compile(r"^\S+(\s+\S+){4}$")


def validate_cron(value):
    if not value:
        return
    if not CRON_FIELD.match(value.strip()) or not croniter.is_valid(value.strip()):
        raise ValidationError(
            _("%(cron)s is not a 5-field cron expression (minute hour day-of-month month day-of-week)."),
            params={"cron": repr(value)},
        )
    try:
        croniter(value.strip()).get_next()
    except (CroniterBadCronError, CroniterBadDateError):
        raise ValidationError(_("%(cron)s never matches a date."), params={"cron": repr(value)}) from None


def time_form(window):
    """How the window gives its time: "cron", "once", "holidays" or None."""
    if window.start_cron or window.end_cron:
        return "cron"
    if window.starts_at or window.ends_at:
        return "once"
    if getattr(window, "holiday_country", ""):
        return "holidays"
    return None


def time_errors(window):
    """What is wrong with the window's time, by field: exactly one form (a cron pair, an instant pair, or a
    holiday country where the model has one), each complete, a one-off ending after it starts."""
    errors = {}
    has_cron = bool(window.start_cron or window.end_cron)
    has_once = bool(window.starts_at or window.ends_at)
    has_holidays = bool(getattr(window, "holiday_country", ""))
    forms = sum([has_cron, has_once, has_holidays])
    if forms == 0:
        errors["start_cron"] = (
            _("Give the window's time: start_cron and end_cron, or starts_at and ends_at, or a holiday country.")
            if hasattr(window, "holiday_country")
            else _("Give the window's time: start_cron and end_cron, or starts_at and ends_at.")
        )
    elif forms > 1:
        field = "starts_at" if has_cron and has_once else "holiday_country"
        errors[field] = _(
            "Give only one form of time: start_cron and end_cron, or starts_at and ends_at, or a holiday country."
        )
    if has_cron:
        if not window.start_cron:
            errors["start_cron"] = _("start_cron is required with end_cron.")
        if not window.end_cron:
            errors["end_cron"] = _("end_cron is required with start_cron.")
    out_of_range = clock.out_of_range(window, ("starts_at", "ends_at"))
    errors.update(out_of_range)
    if has_once and not out_of_range:
        if not window.starts_at:
            errors["starts_at"] = _("starts_at is required with ends_at.")
        if not window.ends_at:
            errors["ends_at"] = _("ends_at is required with starts_at.")
        if window.starts_at and window.ends_at and window.ends_at <= window.starts_at:
            errors["ends_at"] = _("ends_at must be after starts_at.")
    return errors
