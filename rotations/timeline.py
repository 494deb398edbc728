"""A schedule drawn as a picture: one row per layer and the final row, over a window."""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from project.clock import MAX_YEAR, MIN_YEAR, add_months, localize
from rotations import oncall
from rotations.final_schedule import SOURCE_LAYER, SOURCE_OVERRIDE

DAYS = 14
PALETTE = [
    "#2563eb",
    "#16a34a",
    "#9333ea",
    "#ea580c",
    "#0891b2",
    "#c026d3",
    "#65a30d",
    "#b45309",
    "#4f46e5",
    "#0d9488",
    "#db2777",
    "#57534e",
]
GAP_COLOUR = "#b91c1c"


def colour_for(user_id):
    digest = hashlib.sha1(str(user_id).encode(), usedforsecurity=False).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def person_name(user):
    return user.get_full_name() or user.get_username()


@dataclass
class Bar:
    left: float
    width: float
    label: str
    title: str
    colour: str
    gap: bool = False


def _moment(instant, tz):
    return date_format(timezone.localtime(instant, tz), "D d M H:i")


def _bars(pieces, start, end, tz):
    total = (end - start).total_seconds()
    bars = []
    for s, e, user, source in pieces:
        left = (s - start).total_seconds() / total * 100
        width = (e - s).total_seconds() / total * 100
        when = f"{_moment(s, tz)} → {_moment(e, tz)}"
        if user is None:
            bars.append(Bar(left, width, _("gap"), _("Nobody on call: %(when)s") % {"when": when}, GAP_COLOUR, True))
        else:
            name = person_name(user)
            label = name if source != SOURCE_OVERRIDE else _("%(name)s (override)") % {"name": name}
            bars.append(Bar(left, width, label, f"{label}: {when}", colour_for(user.pk)))
    return bars


NEXT, WEEK, MONTH = "next", "week", "month"
SPANS = (NEXT, WEEK, MONTH)


@dataclass(frozen=True)
class Window:
    """The stretch of time the picture shows, in the viewer's zone, and where its links lead."""

    span: str
    start: datetime
    end: datetime
    first_day: date | None = None  # week and month: the first local day shown

    def link(self, first_day=None, span=None):
        span = span or self.span
        if span == NEXT:
            return "?"
        return f"?span={span}" + (f"&start={first_day:%Y-%m-%d}" if first_day else "")


def _midnight(day, tz):
    return localize(datetime(day.year, day.month, day.day), tz)


def window(params, *, now, tz):
    """The window asked for by `params` (`span` = next|week|month, `start` = YYYY-MM-DD, a day in it);
    anything unreadable means today. Weeks start on Monday, months on the 1st, at midnight in `tz`."""
    span = params.get("span") if params.get("span") in SPANS else NEXT
    if span == NEXT:
        return Window(NEXT, now, now + timedelta(days=DAYS))
    today = timezone.localtime(now, tz).date()
    try:
        day = date.fromisoformat(str(params.get("start") or ""))
    except ValueError:
        day = today
    if not MIN_YEAR + 1 <= day.year <= MAX_YEAR - 1:
        day = today
    if span == WEEK:
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        last = add_months(datetime(first.year, first.month, 1), 1).date()
    return Window(span, _midnight(first, tz), _midnight(last, tz), first)


def navigation(win, *, now, tz):
    """Previous / today / next links and the span switches for the picture's header."""
    today = timezone.localtime(now, tz).date()
    links = {"today": win.link(today) if win.span != NEXT else "?"}
    if win.span == WEEK:
        links["previous"] = win.link(win.first_day - timedelta(days=7))
        links["next"] = win.link(win.first_day + timedelta(days=7))
    elif win.span == MONTH:
        first = datetime(win.first_day.year, win.first_day.month, 1)
        links["previous"] = win.link(add_months(first, -1).date())
        links["next"] = win.link(add_months(first, 1).date())
    anchor = win.first_day or today
    links["spans"] = [
        {"span": NEXT, "label": _("Next %(days)s days") % {"days": DAYS}, "url": "?", "current": win.span == NEXT},
        {"span": WEEK, "label": _("Week"), "url": win.link(anchor, WEEK), "current": win.span == WEEK},
        {"span": MONTH, "label": _("Month"), "url": win.link(anchor, MONTH), "current": win.span == MONTH},
    ]
    return links


def _title(win, tz):
    if win.span == WEEK:
        last = win.first_day + timedelta(days=6)
        return _("Week of %(first)s – %(last)s") % {
            "first": date_format(win.first_day, "D j M Y"),
            "last": date_format(last, "D j M Y"),
        }
    if win.span == MONTH:
        return date_format(win.first_day, "F Y")
    return _("Next %(days)s days") % {"days": DAYS}


def _ticks(start, end, tz):
    """One tick per local midnight inside (start, end): a DST day is 23 or 25 hours wide."""
    total = (end - start).total_seconds()
    ticks = []
    day = timezone.localtime(start, tz).date()
    while True:
        day += timedelta(days=1)
        tick = _midnight(day, tz)
        if tick >= end:
            break
        if tick <= start:
            continue
        ticks.append(
            {
                "at": tick,
                "left": (tick - start).total_seconds() / total * 100,
                "label": date_format(timezone.localtime(tick, tz), "D d"),
            }
        )
    return ticks


def build(schedule, *, now=None, days=DAYS, tz=None, win=None):
    """Context for the timeline template: rows of coloured bars, day ticks, now/next, gaps, a legend and the
    navigation links, all on the wall clock of `tz` (default the active zone: the viewer's)."""
    now = now or timezone.now()
    tz = tz or timezone.get_current_timezone()
    win = win or Window(NEXT, now, now + timedelta(days=days))
    start, end = win.start, win.end
    plan = oncall.plan_for(schedule)
    rows = []
    people = {}
    for layer_plan, layer in zip(plan.layers, _layers_by_rank(schedule, plan), strict=True):
        pieces = [(s, e, plan.users[user], SOURCE_LAYER) for s, e, user in layer_plan.segments(start, end)]
        rows.append({"label": layer.name, "layer": layer, "bars": _bars(pieces, start, end, tz)})
        for _s, _e, user, _source in pieces:
            people.setdefault(user.pk, {"name": person_name(user), "colour": colour_for(user.pk)})
    final = oncall.shifts(schedule, start, end)
    final_pieces = [(s.start, s.end, s.user, s.source) for s in final]
    current, following = oncall.now_and_next(schedule, now)
    for s in final:
        if s.user is not None:
            people.setdefault(s.user.pk, {"name": person_name(s.user), "colour": colour_for(s.user.pk)})
    return {
        "start": start,
        "end": end,
        "days": round((end - start).total_seconds() / 86400),
        "span": win.span,
        "title": _title(win, tz),
        "nav": navigation(win, now=now, tz=tz),
        "contains_now": start <= now < end,
        "zone": str(tz),
        "rows": rows,
        "final": _bars(final_pieces, start, end, tz),
        "ticks": _ticks(start, end, tz),
        "gaps": [s for s in final if s.is_gap],
        "now": current,
        "next": following,
        "people": sorted(people.values(), key=lambda person: person["name"].lower()),
    }


def _layers_by_rank(schedule, plan):
    by_id = {layer.pk: layer for layer in schedule.layers.all()}
    return [by_id[layer_plan.id] for layer_plan in plan.layers]


def gaps_ahead(schedule, *, now=None, days=DAYS):
    """Coverage gaps of the schedule over the next `days` days."""
    now = now or timezone.now()
    return oncall.gaps(schedule, now, now + timedelta(days=days))
