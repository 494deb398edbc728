"""A schedule drawn as a picture: one row per layer and the final row, over a window."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from project.clock import localize
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


def _bars(pieces, start, end, tz):
    total = (end - start).total_seconds()
    bars = []
    for s, e, user, source in pieces:
        left = (s - start).total_seconds() / total * 100
        width = (e - s).total_seconds() / total * 100
        when = f"{timezone.localtime(s, tz):%a %d %b %H:%M} → {timezone.localtime(e, tz):%a %d %b %H:%M}"
        if user is None:
            bars.append(Bar(left, width, _("gap"), _("Nobody on call: %(when)s") % {"when": when}, GAP_COLOUR, True))
        else:
            name = person_name(user)
            label = name if source != SOURCE_OVERRIDE else _("%(name)s (override)") % {"name": name}
            bars.append(Bar(left, width, label, f"{label}: {when}", colour_for(user.pk)))
    return bars


def build(schedule, *, now=None, days=DAYS, tz=None):
    """Context for the timeline template: rows of coloured bars, day ticks, now/next, gaps."""
    now = now or timezone.now()
    tz = tz or timezone.get_current_timezone()
    start = now
    end = now + timedelta(days=days)
    plan = oncall.plan_for(schedule)
    rows = []
    for layer_plan, layer in zip(plan.layers, _layers_by_rank(schedule, plan), strict=True):
        pieces = [(s, e, plan.users[user], SOURCE_LAYER) for s, e, user in layer_plan.segments(start, end)]
        rows.append({"label": layer.name, "layer": layer, "bars": _bars(pieces, start, end, tz)})
    final = oncall.shifts(schedule, start, end)
    final_pieces = [(s.start, s.end, s.user, s.source) for s in final]
    ticks = []
    midnight = timezone.localtime(start, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    day = 1
    while True:
        tick = localize((midnight + timedelta(days=day)).replace(tzinfo=None), tz)
        if tick >= end:
            break
        ticks.append(
            {
                "left": (tick - start).total_seconds() / (end - start).total_seconds() * 100,
                "label": f"{timezone.localtime(tick, tz):%a %d}",
            }
        )
        day += 1
    current, following = oncall.now_and_next(schedule, now)
    people = {}
    for s in final:
        if s.user is not None:
            people[s.user.pk] = {"name": person_name(s.user), "colour": colour_for(s.user.pk)}
    return {
        "start": start,
        "end": end,
        "days": days,
        "zone": str(tz),
        "rows": rows,
        "final": _bars(final_pieces, start, end, tz),
        "ticks": ticks,
        "gaps": [s for s in final if s.is_gap],
        "now": current,
        "next": following,
        "people": list(people.values()),
    }


def _layers_by_rank(schedule, plan):
    by_id = {layer.pk: layer for layer in schedule.layers.all()}
    return [by_id[layer_plan.id] for layer_plan in plan.layers]


def gaps_ahead(schedule, *, now=None, days=DAYS):
    """Coverage gaps of the schedule over the next `days` days."""
    now = now or timezone.now()
    return oncall.gaps(schedule, now, now + timedelta(days=days))
