"""Restrictions, layers masking each other, overrides and gaps, on saved schedules."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rotations import oncall
from rotations.final_schedule import split_gaps
from rotations.models import Schedule
from tests.factories import UserFactory
from tests.rotations.factories import LayerFactory, OverrideFactory, ScheduleFactory

ZURICH = ZoneInfo("Europe/Zurich")
MONDAY = datetime(2024, 6, 3, 9, 0, tzinfo=ZURICH)
BUSINESS_HOURS = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]
NIGHTS = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "20:00", "end": "08:00"}]


def at(day, hour, minute=0):
    """A local Zurich time in the week of Monday 3 June 2024 (day 3 = Monday)."""
    return datetime(2024, 6, day, hour, minute, tzinfo=ZURICH)


def names(users):
    return [u.username for u in users]


@pytest.fixture
def schedule(db):
    return ScheduleFactory(name="Platform", time_zone="Europe/Zurich")


def test_weekday_restriction_covers_only_its_days_and_hours(schedule, people):
    ann = people[0]
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=[ann], restrictions=BUSINESS_HOURS)

    assert names(oncall.users_on_call(schedule, at(5, 10))) == ["ann"]  # Wednesday
    assert oncall.users_on_call(schedule, at(8, 10)) == []  # Saturday
    assert oncall.users_on_call(schedule, at(5, 17)) == []  # end is exclusive
    assert names(oncall.users_on_call(schedule, at(5, 9))) == ["ann"]  # start is inclusive


def test_overnight_restriction_belongs_to_the_day_it_starts(schedule, people):
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1], restrictions=NIGHTS)

    assert names(oncall.users_on_call(schedule, at(8, 7))) == ["ann"]  # Saturday 07:00, started Friday
    assert oncall.users_on_call(schedule, at(8, 21)) == []  # Saturday evening: not a listed day
    assert oncall.users_on_call(schedule, at(10, 7)) == []  # Monday 07:00 started on Sunday
    assert names(oncall.users_on_call(schedule, at(4, 7, 59))) == ["ann"]
    assert oncall.users_on_call(schedule, at(4, 8)) == []


def test_restriction_with_equal_start_and_end_covers_a_full_day(schedule, people):
    weekend = [{"days": ["sat"], "start": "08:00", "end": "08:00"}]
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1], restrictions=weekend)

    assert oncall.users_on_call(schedule, at(8, 7, 59)) == []
    assert names(oncall.users_on_call(schedule, at(8, 8))) == ["ann"]
    assert names(oncall.users_on_call(schedule, at(9, 7, 59))) == ["ann"]
    assert oncall.users_on_call(schedule, at(9, 8)) == []


def test_restrictions_cut_shifts_into_the_covered_hours(schedule, people):
    layer = LayerFactory(
        schedule=schedule,
        rotation_start=MONDAY,
        shift_unit="days",
        participants=people[:2],
        restrictions=BUSINESS_HOURS,
    )

    segments = oncall.shifts(schedule, at(3, 0), at(10, 0))
    shifts, gaps = split_gaps(segments)

    assert [(s.start, s.end, s.user.username) for s in shifts] == [
        (at(day, 9), at(day, 17), "ann" if day % 2 else "ben") for day in range(3, 8)
    ]
    assert all(s.layer == layer.pk and s.source == "layer" for s in shifts)
    assert gaps[0].start == at(3, 0) and gaps[-1].end == at(10, 0)
    assert len(gaps) == 6


def test_higher_priority_layer_masks_the_lower_one_where_it_covers(schedule, people):
    ann, ben, cat, _dan = people
    LayerFactory(schedule=schedule, name="Everyone", priority=0, rotation_start=MONDAY, participants=[cat])
    day_layer = LayerFactory(
        schedule=schedule,
        name="Office",
        priority=10,
        rotation_start=MONDAY,
        shift_unit="days",
        participants=[ann, ben],
        restrictions=BUSINESS_HOURS,
    )

    assert names(oncall.users_on_call(schedule, at(3, 10))) == ["ann"]
    assert names(oncall.users_on_call(schedule, at(4, 10))) == ["ben"]
    assert names(oncall.users_on_call(schedule, at(4, 18))) == ["cat"]
    assert names(oncall.users_on_call(schedule, at(8, 10))) == ["cat"]
    answer = oncall.oncall(schedule, at(4, 10))
    assert (answer.source, answer.layer) == ("layer", day_layer.pk)
    assert (answer.shift.start, answer.shift.end) == (at(4, 9), at(4, 17))


def test_override_replaces_the_layers_during_its_window(schedule, people, manager):
    ann, _ben, _cat, dan = people
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=[ann])
    OverrideFactory(schedule=schedule, user=dan, start=at(5, 12), end=at(5, 18), created_by=manager)

    assert names(oncall.users_on_call(schedule, at(5, 11, 59))) == ["ann"]
    assert names(oncall.users_on_call(schedule, at(5, 12))) == ["dan"]
    assert names(oncall.users_on_call(schedule, at(5, 18))) == ["ann"]
    answer = oncall.oncall(schedule, at(5, 13))
    assert (answer.source, answer.layer, answer.shift.start, answer.shift.end) == (
        "override",
        None,
        at(5, 12),
        at(5, 18),
    )


def test_override_covers_a_gap_too(schedule, people):
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1], restrictions=BUSINESS_HOURS)
    OverrideFactory(schedule=schedule, user=people[3], start=at(8, 0), end=at(9, 0))

    assert names(oncall.users_on_call(schedule, at(8, 12))) == ["dan"]


def test_most_recently_created_override_wins_where_overrides_overlap(schedule, people):
    ann, ben, cat, dan = people
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=[ann])
    created = datetime(2024, 5, 1, tzinfo=UTC)
    hours = timedelta(hours=1)
    OverrideFactory(schedule=schedule, user=cat, start=at(5, 8), end=at(5, 20), created_at=created + 2 * hours)
    OverrideFactory(schedule=schedule, user=ben, start=at(5, 10), end=at(5, 12), created_at=created)
    OverrideFactory(schedule=schedule, user=dan, start=at(5, 14), end=at(5, 22), created_at=created + 5 * hours)

    assert names(oncall.users_on_call(schedule, at(5, 11))) == ["cat"]  # ben's is older
    assert names(oncall.users_on_call(schedule, at(5, 15))) == ["dan"]  # dan's is newer than cat's
    shifts, _gaps = split_gaps(oncall.shifts(schedule, at(5, 0), at(6, 0)))
    assert [(s.start, s.end, s.user.username, s.source) for s in shifts] == [
        (at(5, 0), at(5, 8), "ann", "layer"),
        (at(5, 8), at(5, 14), "cat", "override"),
        (at(5, 14), at(5, 22), "dan", "override"),
        (at(5, 22), at(6, 0), "ann", "layer"),
    ]


def test_schedule_with_gaps_reports_them_and_nobody_on_call(schedule, people):
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1], ends_at=at(5, 12))

    answer = oncall.oncall(schedule, at(6, 12))
    gaps = oncall.gaps(schedule, at(3, 0), at(10, 0))

    assert (answer.users, answer.source, answer.layer, answer.shift) == ([], "none", None, None)
    assert [(g.start, g.end) for g in gaps] == [(at(3, 0), at(3, 9)), (at(5, 12), at(10, 0))]


def test_empty_schedule_is_one_gap(schedule):
    segments = oncall.shifts(schedule, at(3, 0), at(4, 0))

    assert [(s.start, s.end, s.source) for s in segments] == [(at(3, 0), at(4, 0), "none")]


def test_consecutive_shifts_of_the_same_person_from_the_same_layer_are_merged(schedule, people):
    ann, ben = people[:2]
    layer = LayerFactory(schedule=schedule, rotation_start=MONDAY, shift_unit="days", participants=[ann, ann, ben])

    shifts, _ = split_gaps(oncall.shifts(schedule, at(3, 9), at(9, 9)))

    assert [(s.start, s.end, s.user.username) for s in shifts] == [
        (at(3, 9), at(5, 9), "ann"),
        (at(5, 9), at(6, 9), "ben"),
        (at(6, 9), at(8, 9), "ann"),
        (at(8, 9), at(9, 9), "ben"),
    ]
    assert {s.layer for s in shifts} == {layer.pk}


def test_oncall_segment_edges_are_open_when_nothing_changes_within_a_year(schedule, people):
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1])

    answer = oncall.oncall(schedule, at(5, 12))

    assert answer.shift.start == MONDAY
    assert answer.shift.end is None


def test_users_on_call_defaults_to_now(schedule, people):
    import time_machine

    LayerFactory(schedule=schedule, rotation_start=MONDAY, shift_unit="days", participants=people[:2])
    with time_machine.travel(at(4, 12), tick=False):
        assert names(oncall.users_on_call(schedule)) == ["ben"]


def test_layer_shift_at_uses_the_schedule_zone(people):
    schedule = ScheduleFactory(time_zone="America/Chicago")
    chicago = ZoneInfo("America/Chicago")
    layer = LayerFactory(
        schedule=schedule,
        rotation_start=datetime(2024, 1, 1, 9, tzinfo=chicago),
        shift_unit="days",
        participants=[UserFactory(username="x")],
    )

    shift = layer.shift_at(datetime(2024, 3, 9, 12, tzinfo=chicago))

    assert shift.end - shift.start == timedelta(hours=23)


def test_users_on_call_reads_a_schedule_in_a_fixed_number_of_queries(people, django_assert_max_num_queries):
    small = ScheduleFactory()
    LayerFactory(schedule=small, rotation_start=MONDAY, participants=people[:1])
    large = ScheduleFactory()
    for priority in range(4):
        LayerFactory(schedule=large, priority=priority, rotation_start=MONDAY, participants=people)
    OverrideFactory(schedule=large, user=people[0], start=at(5, 0), end=at(5, 1))

    with django_assert_max_num_queries(5):
        assert oncall.users_on_call(Schedule.objects.get(pk=small.pk), at(5, 12))
    with django_assert_max_num_queries(5):
        assert oncall.users_on_call(Schedule.objects.get(pk=large.pk), at(5, 12))
