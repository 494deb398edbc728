"""Who is on call: the questions other apps ask, on saved schedules.

`plan_for()` turns a saved `Schedule` (with its layers, participants and
overrides, prefetched or not) into a plan (`rotations.plans`), `load_plans()`
does it for many schedules in a fixed number of queries, and the functions
below answer on the final schedule (`rotations.final_schedule`):
`users_on_call(schedule, at)`, `oncall(schedule, at)`, `shifts(schedule, start,
end)`, `gaps`, `now_and_next`, `shifts_for_user`. Users come back as User
objects; every interval is half-open [start, end).
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from project.clock import ensure_aware, get_zone
from rotations.final_schedule import MAX_WINDOW, Segment, final_segments, segment_at, who_at
from rotations.models import Layer, Override, Participant, Schedule
from rotations.plans import OverridePlan, SchedulePlan, make_layer
from rotations.restrictions import ScheduleError, restrictions_from_text

# What callers of users_on_call() usually read; other fields load when first used.
SUMMARY_USER_FIELDS = ("id", "username", "first_name", "last_name", "email", "is_active")


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


def prefetch_for_oncall(queryset, *, start: datetime | None = None, end: datetime | None = None):
    """`queryset` of schedules with everything `plan_for()` reads, in a fixed number of
    queries. With start/end, only overrides that overlap that window are fetched."""
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
            make_layer(
                time_zone=zones[schedule_id],
                rotation_start=rotation_start,
                shift_length=length,
                shift_unit=unit,
                participants=participants.get(layer_id, ()),
                restrictions=restrictions_from_text(restrictions),
                starts_at=starts_at,
                ends_at=ends_at,
                priority=priority,
                id=layer_id,
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
        layers.append(layer.plan(participants))
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
    at = ensure_aware(at, "at") if at is not None else timezone.now()
    plan = plan_for(schedule)
    user, source, layer = who_at(plan, at)
    shift = segment_at(plan, at) if user is not None else None
    users = [plan.users[user]] if user is not None else []
    return OnCall(schedule=schedule, at=at, users=users, source=source, layer=layer, shift=shift)


def users_on_call(schedule, at: datetime | None = None) -> list:
    """The users on call on `schedule` at `at` (default now): [] in a gap.

    This is what the escalation engine pages.
    """
    at = ensure_aware(at, "at") if at is not None else timezone.now()
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
    at = ensure_aware(at, "at") if at is not None else timezone.now()
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
