"""The shift grid on the local wall clock: DST changes, gaps and repeated hours, all units."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from project import clock
from rotations import final_schedule, plans
from rotations.restrictions import ScheduleError

ZURICH = ZoneInfo("Europe/Zurich")
CHICAGO = ZoneInfo("America/Chicago")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
H = timedelta(hours=1)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def layer(tz, rotation_start, length, unit, participants=("a", "b", "c")):
    return plans.make_layer(
        time_zone=tz, rotation_start=rotation_start, shift_length=length, shift_unit=unit, participants=participants
    )


def shift_containing(layer_plan, local_wall, tz):
    return layer_plan.shift_at(datetime(*local_wall, tzinfo=tz))


# --- daily and weekly shifts keep their local handoff time ---------------------------------------


def test_daily_shift_over_spring_forward_lasts_23_hours_in_zurich():
    daily = layer(ZURICH, datetime(2024, 3, 1, 8, 0, tzinfo=ZURICH), 1, "days")

    shift = shift_containing(daily, (2024, 3, 30, 20, 0), ZURICH)

    assert shift.start == utc(2024, 3, 30, 7, 0)  # 08:00 CET
    assert shift.end == utc(2024, 3, 31, 6, 0)  # 08:00 CEST
    assert shift.end - shift.start == 23 * H


def test_daily_shift_over_fall_back_lasts_25_hours_in_zurich():
    daily = layer(ZURICH, datetime(2024, 3, 1, 8, 0, tzinfo=ZURICH), 1, "days")

    shift = shift_containing(daily, (2024, 10, 26, 20, 0), ZURICH)

    assert shift.start == utc(2024, 10, 26, 6, 0)
    assert shift.end == utc(2024, 10, 27, 7, 0)
    assert shift.end - shift.start == 25 * H


def test_daily_shifts_in_chicago_are_23_and_25_hours_and_24_otherwise():
    daily = layer(CHICAGO, datetime(2024, 1, 1, 9, 0, tzinfo=CHICAGO), 1, "days")

    spring = daily.shifts(utc(2024, 3, 8, 15), utc(2024, 3, 12, 14))
    fall = daily.shifts(utc(2024, 11, 1, 14), utc(2024, 11, 5, 15))

    assert [s.end - s.start for s in spring] == [24 * H, 23 * H, 24 * H, 24 * H]
    assert [s.end - s.start for s in fall] == [24 * H, 25 * H, 24 * H, 24 * H]
    assert all(s.start.astimezone(CHICAGO).hour == 9 for s in spring + fall)


def test_weekly_shifts_over_dst_changes_last_167_and_169_hours():
    weekly_zurich = layer(ZURICH, datetime(2024, 1, 1, 9, 0, tzinfo=ZURICH), 1, "weeks")
    weekly_chicago = layer(CHICAGO, datetime(2024, 1, 1, 9, 0, tzinfo=CHICAGO), 1, "weeks")

    assert (lambda s: s.end - s.start)(shift_containing(weekly_zurich, (2024, 3, 28, 12), ZURICH)) == 167 * H
    assert (lambda s: s.end - s.start)(shift_containing(weekly_zurich, (2024, 10, 24, 12), ZURICH)) == 169 * H
    assert (lambda s: s.end - s.start)(shift_containing(weekly_chicago, (2024, 3, 6, 12), CHICAGO)) == 167 * H
    assert (lambda s: s.end - s.start)(shift_containing(weekly_chicago, (2024, 10, 30, 12), CHICAGO)) == 169 * H
    assert (lambda s: s.end - s.start)(shift_containing(weekly_chicago, (2024, 6, 5, 12), CHICAGO)) == 168 * H


def test_participants_take_turns_shift_k_to_participant_k_mod_n_both_ways_from_the_anchor():
    daily = plans.make_layer(
        time_zone=ZURICH,
        rotation_start=datetime(2024, 3, 10, 8, 0, tzinfo=ZURICH),
        starts_at=datetime(2024, 1, 1, tzinfo=ZURICH),
        shift_length=1,
        shift_unit="days",
        participants=("a", "b", "a", "c"),
    )

    owners = [daily.user_at(datetime(2024, 3, day, 12, tzinfo=ZURICH)) for day in range(6, 16)]

    # 6 March is shift -4, 10 March shift 0.
    assert owners == ["a", "b", "a", "c", "a", "b", "a", "c", "a", "b"]
    assert daily.user_at(datetime(2024, 3, 10, 7, 59, tzinfo=ZURICH)) == "c"
    assert daily.user_at(datetime(2024, 3, 10, 8, 0, tzinfo=ZURICH)) == "a"


# --- handoffs at local times that do not exist or exist twice -------------------------------------


def test_handoff_at_nonexistent_0230_happens_at_the_first_instant_after_the_gap():
    zurich = layer(ZURICH, datetime(2024, 3, 1, 2, 30, tzinfo=ZURICH), 1, "days")
    chicago = layer(CHICAGO, datetime(2024, 3, 1, 2, 30, tzinfo=CHICAGO), 1, "days")

    z = shift_containing(zurich, (2024, 3, 31, 12), ZURICH)
    c = shift_containing(chicago, (2024, 3, 10, 12), CHICAGO)

    assert z.start == utc(2024, 3, 31, 1, 0)  # 03:00 CEST, the end of the gap
    assert z.start.astimezone(ZURICH).strftime("%H:%M") == "03:00"
    assert z.end == utc(2024, 4, 1, 0, 30)  # back to 02:30 CEST the next day
    assert c.start == utc(2024, 3, 10, 8, 0)  # 03:00 CDT
    assert c.start - zurich.handoff(0) > timedelta(0)
    assert shift_containing(chicago, (2024, 3, 9, 12), CHICAGO).end == c.start


def test_handoff_at_ambiguous_0130_happens_at_its_first_occurrence():
    chicago = layer(CHICAGO, datetime(2024, 10, 1, 1, 30, tzinfo=CHICAGO), 1, "days")

    before = chicago.shift_at(utc(2024, 11, 3, 6, 0))
    during_repeat = chicago.shift_at(utc(2024, 11, 3, 7, 0))  # 01:00 CST, the second pass

    assert before.end == utc(2024, 11, 3, 6, 30)  # 01:30 CDT, the first 01:30
    assert before.end - before.start == 24 * H
    assert during_repeat.start == utc(2024, 11, 3, 6, 30)
    assert during_repeat.end == utc(2024, 11, 4, 7, 30)
    assert during_repeat.end - during_repeat.start == 25 * H


def test_localize_resolves_gaps_forward_and_repeats_to_the_first_occurrence():
    assert clock.localize(datetime(2024, 3, 31, 2, 30), ZURICH) == utc(2024, 3, 31, 1, 0)
    assert clock.localize(datetime(2024, 10, 27, 2, 30), ZURICH) == utc(2024, 10, 27, 0, 30)
    assert clock.localize(datetime(2024, 3, 10, 2, 30), CHICAGO) == utc(2024, 3, 10, 8, 0)
    assert clock.localize(datetime(2024, 11, 3, 1, 30), CHICAGO) == utc(2024, 11, 3, 6, 30)
    assert clock.localize(datetime(2024, 6, 1, 12, 0), CHICAGO) == utc(2024, 6, 1, 17, 0)


@pytest.mark.parametrize(
    "wall",
    [datetime(2024, 3, 31, 2, 0), datetime(2024, 3, 31, 2, 30, 15), datetime(2024, 3, 31, 2, 59, 59, 999_999)],
)
def test_any_local_time_in_a_gap_is_the_first_instant_after_it(wall):
    assert clock.localize(wall, ZURICH) == utc(2024, 3, 31, 1, 0)


def test_lord_howe_half_hour_gap_resolves_forward():
    # Lord Howe springs forward from 02:00 to 02:30 local (+10:30 → +11).
    assert clock.localize(datetime(2024, 10, 6, 2, 15), LORD_HOWE) == utc(2024, 10, 5, 15, 30)


# --- hourly shifts step on the local grid ----------------------------------------------------------


def test_hourly_shifts_over_spring_forward_skip_the_missing_local_hour():
    hourly = layer(ZURICH, datetime(2024, 3, 1, 0, 0, tzinfo=ZURICH), 1, "hours")

    shifts = hourly.shifts(utc(2024, 3, 30, 23), utc(2024, 3, 31, 3))

    local_starts = [s.start.astimezone(ZURICH).strftime("%H:%M") for s in shifts]
    assert local_starts == ["00:00", "01:00", "03:00", "04:00"]
    assert all(s.end - s.start == H for s in shifts)
    # The 02:00 handoff does not exist: that shift is empty and its owner's turn is skipped.
    assert [s.index for s in shifts] == [shifts[0].index, shifts[0].index + 1, shifts[0].index + 3, shifts[0].index + 4]


def test_hourly_shifts_over_fall_back_give_the_repeated_hour_to_one_shift():
    hourly = layer(ZURICH, datetime(2024, 3, 1, 0, 0, tzinfo=ZURICH), 1, "hours")

    shifts = hourly.shifts(utc(2024, 10, 26, 22), utc(2024, 10, 27, 4))

    assert [(s.start, s.end - s.start) for s in shifts] == [
        (utc(2024, 10, 26, 22), H),  # 00:00 CEST
        (utc(2024, 10, 26, 23), H),  # 01:00 CEST
        (utc(2024, 10, 27, 0), 2 * H),  # 02:00 CEST through the repeated 02:00 CET
        (utc(2024, 10, 27, 2), H),  # 03:00 CET
        (utc(2024, 10, 27, 3), H),
    ]


def test_four_hour_shifts_in_chicago_are_three_and_five_hours_across_dst():
    four_hourly = layer(CHICAGO, datetime(2024, 1, 1, 0, 0, tzinfo=CHICAGO), 4, "hours")

    spring = shift_containing(four_hourly, (2024, 3, 10, 1, 0), CHICAGO)
    fall = shift_containing(four_hourly, (2024, 11, 3, 3, 0), CHICAGO)

    assert spring.end - spring.start == 3 * H  # 00:00 CST → 04:00 CDT
    assert fall.end - fall.start == 5 * H  # 00:00 CDT → 04:00 CST
    assert fall.start.astimezone(CHICAGO).hour == 0


# --- monthly shifts ---------------------------------------------------------------------------------


def test_monthly_shifts_hand_off_on_the_same_local_day_and_time():
    monthly = layer(ZURICH, datetime(2024, 1, 1, 9, 0, tzinfo=ZURICH), 1, "months", participants=("a", "b"))

    shifts = monthly.shifts(utc(2024, 1, 1, 8), utc(2025, 1, 1, 8))

    assert len(shifts) == 12
    assert all(s.start.astimezone(ZURICH).strftime("%d %H:%M") == "01 09:00" for s in shifts)
    march = shifts[2]
    assert march.end - march.start == 31 * 24 * H - H
    assert [s.user for s in shifts[:4]] == ["a", "b", "a", "b"]


def test_monthly_shifts_from_the_31st_clamp_to_the_last_day_of_shorter_months():
    monthly = layer(CHICAGO, datetime(2024, 1, 31, 10, 0, tzinfo=CHICAGO), 1, "months")

    starts = [s.start.astimezone(CHICAGO).date().isoformat() for s in monthly.shifts(utc(2024, 2, 1), utc(2024, 6, 1))]

    assert starts == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"]


def test_quarterly_shifts_count_back_before_the_anchor():
    quarterly = plans.make_layer(
        time_zone=ZURICH,
        rotation_start=datetime(2024, 4, 1, 9, 0, tzinfo=ZURICH),
        starts_at=datetime(2023, 1, 1, tzinfo=ZURICH),
        shift_length=3,
        shift_unit="months",
        participants=("a", "b"),
    )

    shift = shift_containing(quarterly, (2024, 2, 14, 12), ZURICH)

    assert shift.start == datetime(2024, 1, 1, 9, 0, tzinfo=ZURICH)
    assert shift.end == datetime(2024, 4, 1, 9, 0, tzinfo=ZURICH)
    assert shift.user == "b"


# --- a zone whose DST change is 30 minutes ----------------------------------------------------------


def test_lord_howe_daily_shifts_are_24_and_a_half_and_23_and_a_half_hours():
    daily = layer(LORD_HOWE, datetime(2024, 1, 1, 8, 0, tzinfo=LORD_HOWE), 1, "days")

    april = shift_containing(daily, (2024, 4, 6, 20, 0), LORD_HOWE)
    october = shift_containing(daily, (2024, 10, 5, 20, 0), LORD_HOWE)

    assert april.end - april.start == timedelta(hours=24, minutes=30)
    assert october.end - october.start == timedelta(hours=23, minutes=30)


def test_lord_howe_handoff_inside_the_half_hour_gap_moves_to_its_end():
    daily = layer(LORD_HOWE, datetime(2024, 9, 1, 2, 15, tzinfo=LORD_HOWE), 1, "days")

    shift = shift_containing(daily, (2024, 10, 6, 12, 0), LORD_HOWE)

    assert shift.start == utc(2024, 10, 5, 15, 30)  # 02:30 +11:00, the end of the gap
    assert shift.start.astimezone(LORD_HOWE).strftime("%H:%M") == "02:30"


# --- the layer's life and bad input -----------------------------------------------------------------


def test_layer_covers_only_between_starts_at_and_ends_at():
    plan = plans.make_layer(
        time_zone="UTC",
        rotation_start=utc(2024, 1, 1),
        starts_at=utc(2024, 1, 3, 12),
        ends_at=utc(2024, 1, 5),
        shift_length=1,
        shift_unit="days",
        participants=["a", "b"],
    )

    assert plan.user_at(utc(2024, 1, 3, 11, 59)) is None
    assert plan.user_at(utc(2024, 1, 3, 12)) == "a"  # shift 2 → a, cut at starts_at
    assert plan.user_at(utc(2024, 1, 4, 23, 59)) == "b"
    assert plan.user_at(utc(2024, 1, 5)) is None
    assert [(s.start, s.end) for s in plan.shifts(utc(2024, 1, 1), utc(2024, 2, 1))] == [
        (utc(2024, 1, 3, 12), utc(2024, 1, 4)),
        (utc(2024, 1, 4), utc(2024, 1, 5)),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shift_length": 0}, "at least 1"),
        ({"shift_unit": "fortnights"}, "Unknown shift unit"),
        ({"rotation_start": datetime(2024, 1, 1)}, "time zone"),
    ],
)
def test_layer_plans_refuse_bad_settings(kwargs, message):
    settings = {"rotation_start": utc(2024, 1, 1), "shift_length": 1, "shift_unit": "days", **kwargs}
    with pytest.raises(ScheduleError, match=message):
        plans.make_layer(time_zone="UTC", participants=["a"], **settings)


def test_unknown_time_zone_is_refused():
    with pytest.raises(clock.ClockError, match="Unknown time zone"):
        clock.get_zone("Mars/Olympus_Mons")


def test_segment_start_after_a_day_long_restriction_that_ends_late_the_next_day():
    # Friday 23:00 → Saturday 23:00 and Saturday 00:00 → 01:00: coverage ends Saturday 23:00.
    restrictions = [
        {"days": ["fri"], "start": "23:00", "end": "23:00"},
        {"days": ["sat"], "start": "00:00", "end": "01:00"},
    ]
    plan = plans.make_plan(
        time_zone=ZURICH,
        layers=[
            plans.make_layer(
                time_zone=ZURICH,
                rotation_start=datetime(2024, 5, 8, 12, tzinfo=ZURICH),  # a Wednesday
                shift_length=1,
                shift_unit="weeks",
                participants=["a"],
                restrictions=restrictions,
            )
        ],
    )

    gap = final_schedule.segment_at(plan, datetime(2024, 6, 10, 12, tzinfo=ZURICH))  # Monday
    shift = final_schedule.segment_at(plan, datetime(2024, 6, 8, 12, tzinfo=ZURICH))  # Saturday

    assert (gap.user, gap.start, gap.end) == (
        None,
        datetime(2024, 6, 8, 23, tzinfo=ZURICH),
        datetime(2024, 6, 14, 23, tzinfo=ZURICH),
    )
    assert (shift.user, shift.start, shift.end) == (
        "a",
        datetime(2024, 6, 7, 23, tzinfo=ZURICH),
        datetime(2024, 6, 8, 23, tzinfo=ZURICH),
    )
