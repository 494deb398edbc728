"""On-call load: how long each person was on call in a period, how often they were paged, and how evenly it is
spread.

On-call time comes from the final schedule (layers and overrides, `rotations.oncall`) of the schedules in
scope, cut at the period's edges: a daily shift handing off at 08:00 across a DST change lasts 23 or 25 hours,
and counts so. The people of the report are every participant of those schedules' layers and everyone with an
override in the period, with 0 seconds when they held no shift.

Pages, off-hours pages and sleep interruptions are those of `incidents.reports.page_counts`: made in the period
for incidents of the services the person reading may see (narrowed to a team when one is asked for).

Spread: the coefficient of variation (population standard deviation over mean) of the people's on-call seconds
— 0 when everybody held the same time, higher the less even — and the ratio of the most to the least on-call
time (None when somebody held none).
"""

import statistics

from django.utils.translation import gettext as _

from incidents.reports import ReportError, page_counts, person_summary
from people.teams import visible
from project.api import as_id
from rotations import oncall
from rotations.final_schedule import final_segments
from rotations.models import Schedule


def scoped_schedules(user, *, schedule=None, team=None):
    """The schedules the person may see, narrowed to `schedule` (an id) or `team`; ReportError 404 for one
    they may not see."""
    schedules = visible(Schedule.objects.all(), user)
    if team is not None:
        schedules = schedules.filter(team=team)
    if schedule not in (None, ""):
        pk = as_id(str(schedule).strip())
        if pk is None:
            raise ReportError("schedule", _("Give a schedule id."))
        if not schedules.filter(pk=pk).exists():
            raise ReportError("schedule", _("No such schedule."), status=404)
        schedules = Schedule.objects.filter(pk=pk)
    return schedules.order_by("pk")


def spread(seconds):
    """{"coefficient_of_variation", "max_min_ratio"} of a list of on-call seconds (None where undefined)."""
    if not seconds:
        return {"coefficient_of_variation": None, "max_min_ratio": None}
    mean = statistics.fmean(seconds)
    cv = round(statistics.pstdev(seconds) / mean, 3) if mean else None
    low, high = min(seconds), max(seconds)
    return {"coefficient_of_variation": cv, "max_min_ratio": round(high / low, 3) if low else None}


def oncall_load(*, schedules, services, period):
    """One row per person ({"user", "oncall_seconds", "pages", "off_hours_pages", "sleep_interruptions"}),
    most on-call time first, and the spread; a fixed number of queries whatever the number of schedules."""
    loaded = oncall.load_plans(schedules, start=period.start, end=period.end)
    seconds = {}
    users = {}
    for schedule in loaded:
        plan = oncall.plan_for(schedule)
        for layer in plan.layers:
            for pk in layer.participants:
                seconds.setdefault(pk, 0.0)
        for override in plan.overrides:
            if override.end > period.start and override.start < period.end:
                seconds.setdefault(override.user, 0.0)
        for segment in final_segments(plan, period.start, period.end):
            if segment.user is not None:
                seconds[segment.user] = seconds.get(segment.user, 0.0) + (segment.end - segment.start).total_seconds()
        for pk in seconds:
            if pk not in users and pk in plan.users:
                users[pk] = plan.users[pk]
    pages = page_counts(services, period)
    rows = []
    for pk, total in seconds.items():
        user = users.get(pk)
        if user is None:
            continue
        counted = pages.get(pk, {})
        rows.append(
            {
                "user": person_summary(pk, user.username, user.first_name, user.last_name),
                "oncall_seconds": round(total),
                "pages": counted.get("pages", 0),
                "off_hours_pages": counted.get("off_hours_pages", 0),
                "sleep_interruptions": counted.get("sleep_interruptions", 0),
            }
        )
    rows.sort(key=lambda row: (-row["oncall_seconds"], row["user"]["username"]))
    return {
        "start": period.start,
        "end": period.end,
        "rows": rows,
        "spread": spread([row["oncall_seconds"] for row in rows]),
    }


def load_csv_rows(report):
    yield ["user", "name", "oncall_seconds", "pages", "off_hours_pages", "sleep_interruptions"]
    for row in report["rows"]:
        yield [
            row["user"]["username"],
            row["user"]["name"],
            row["oncall_seconds"],
            row["pages"],
            row["off_hours_pages"],
            row["sleep_interruptions"],
        ]
