"""The local wall clock of an IANA time zone, and the one DST rule.

Schedules and release windows are computed on the wall clock of their zone
(docs/DESIGN.md, "Time"). Reading a local time back as an instant follows one
rule everywhere: a local time that does not exist (spring forward) means the
first instant after the gap; an ambiguous one (fall back) means its first
occurrence. Every instant returned is aware and in UTC.
"""

import calendar
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class ClockError(ValueError):
    """A time zone name or an instant the clock cannot accept; the message says why."""


def get_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or ClockError."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise ClockError(_("%(name)s is not an IANA time zone name.") % {"name": repr(name)})
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ClockError(
            _("Unknown time zone %(name)s; use an IANA name such as Europe/Zurich.") % {"name": repr(name)}
        ) from None


def validate_time_zone(value):
    """A model field's validator: an IANA zone name (the same refusal as get_zone, as a form error)."""
    try:
        get_zone(value)
    except ClockError:
        raise ValidationError(
            _("Unknown time zone %(value)s; use an IANA name such as Europe/Zurich."),
            code="invalid_time_zone",
            params={"value": repr(value)},
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
    # Inside a gap: the transition lies in (before, utc] and falls on a whole second; find it.
    before = wall.replace(tzinfo=tz, fold=1).astimezone(UTC).replace(microsecond=0)
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


def months_between(a: datetime, b: datetime) -> int:
    """Calendar months from `a` to `b`, ignoring the days (Jan 31 → Feb 1 is 1)."""
    return (b.year - a.year) * 12 + (b.month - a.month)


def ensure_aware(value: datetime, name: str = "instant") -> datetime:
    """`value` in UTC; ClockError naming `name` when it is not a datetime or carries no zone."""
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value
    if not isinstance(value, datetime):
        raise ClockError(_("%(name)s must be a datetime.") % {"name": name})
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClockError(_("%(name)s must carry a time zone.") % {"name": name})
    return value.astimezone(UTC)


# Every instant Piquet accepts or returns lies in these years: far enough for any
# schedule, near enough that arithmetic never overflows and offsets are modern.
MIN_YEAR, MAX_YEAR = 1970, 9000


def out_of_range(obj, names) -> dict:
    """{field: message} for the instants of `obj` (a model being cleaned) outside MIN_YEAR–MAX_YEAR."""
    message = _("Give an instant between the years %(low)s and %(high)s.") % {"low": MIN_YEAR, "high": MAX_YEAR}
    return {name: message for name in names if getattr(obj, name, None) and not in_range(getattr(obj, name))}


def in_range(instant: datetime) -> bool:
    """Whether an aware instant lies within MIN_YEAR–MAX_YEAR (in UTC)."""
    try:
        return MIN_YEAR <= instant.astimezone(UTC).year <= MAX_YEAR
    except (OverflowError, ValueError):
        return False


_TIMESTAMP = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def parse_timestamp(value):
    """Parse an ISO 8601 / RFC 3339 timestamp, nanoseconds included.

    Returns an aware datetime, or None for Alertmanager's "zero time"
    (`0001-01-01T00:00:00Z`, meaning "not ended"). Raises ValueError.
    """
    if not isinstance(value, str):
        raise ValueError("not a string")
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise ValueError("not an ISO 8601 timestamp")
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    tz = match["tz"] or "+00:00"
    if tz.upper() == "Z":
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{match['base'].replace(' ', 'T')}.{frac}{tz}")
        if parsed.year <= 1:
            return None
        parsed = parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError(str(exc) or "out of range") from None
    if not in_range(parsed):
        raise ValueError(f"not between the years {MIN_YEAR} and {MAX_YEAR}")
    return parsed
