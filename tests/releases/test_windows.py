"""Window time math: GitLab cron semantics on the local wall clock, DST, one-off and holiday windows."""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from project import clock
from project import recurrence as windows
from releases.models import ReleaseWindow

ZURICH = ZoneInfo("Europe/Zurich")


def zurich(*args):
    return datetime(*args, tzinfo=ZURICH)


def window(**fields):
    defaults = {"name": "w", "time_zone": "Europe/Zurich"}
    return ReleaseWindow(**{**defaults, **fields})


WEEKEND = {"start_cron": "0 12 * * 5", "end_cron": "0 8 * * 1"}
EVENING = {"start_cron": "0 16 * * 1-4", "end_cron": "0 8 * * 2-5"}


def test_weekend_freeze_is_active_from_friday_noon_to_monday_eight():
    w = window(**WEEKEND)
    assert not windows.is_active(w, zurich(2026, 11, 27, 11, 59))
    assert windows.is_active(w, zurich(2026, 11, 27, 12, 0))
    assert windows.is_active(w, zurich(2026, 11, 29, 23, 0))
    assert windows.is_active(w, zurich(2026, 11, 30, 7, 59, 59))
    assert not windows.is_active(w, zurich(2026, 11, 30, 8, 0))


def test_weekend_freeze_ends_at_eight_local_after_spring_forward():
    w = window(**WEEKEND)
    occurrence = windows.occurrence_at(w, zurich(2026, 3, 28, 12, 0))
    assert occurrence.start == zurich(2026, 3, 27, 12, 0)
    assert occurrence.end.astimezone(ZURICH).hour == 8
    assert occurrence.end == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert occurrence.end - occurrence.start == timedelta(hours=67)


def test_weekend_freeze_ends_at_eight_local_after_fall_back():
    w = window(**WEEKEND)
    occurrence = windows.occurrence_at(w, zurich(2026, 10, 24, 12, 0))
    assert occurrence.end == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)
    assert occurrence.end - occurrence.start == timedelta(hours=69)


def test_start_in_the_spring_gap_means_the_first_instant_after_it():
    w = window(start_cron="30 2 * * *", end_cron="0 4 * * *")
    occurrence = windows.occurrence_at(w, zurich(2026, 3, 29, 3, 30))
    assert occurrence.start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert occurrence.start.astimezone(ZURICH).strftime("%H:%M") == "03:00"


def test_ambiguous_start_in_the_fall_means_its_first_occurrence():
    w = window(start_cron="30 2 * * *", end_cron="0 4 * * *")
    occurrence = windows.occurrence_at(w, datetime(2026, 10, 25, 2, 0, tzinfo=UTC))
    assert occurrence.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert occurrence.end == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)


def test_evening_freeze_nights_and_the_weekend_handover():
    w = window(**EVENING)
    found = windows.next_occurrences(w, zurich(2026, 11, 23, 0, 0), count=5)
    assert [
        (o.start.astimezone(ZURICH).strftime("%a %H:%M"), o.end.astimezone(ZURICH).strftime("%a %H:%M")) for o in found
    ] == [
        ("Mon 16:00", "Tue 08:00"),
        ("Tue 16:00", "Wed 08:00"),
        ("Wed 16:00", "Thu 08:00"),
        ("Thu 16:00", "Fri 08:00"),
        ("Mon 16:00", "Tue 08:00"),
    ]


def test_simultaneous_start_and_end_leave_the_window_inactive():
    w = window(start_cron="0 8 * * *", end_cron="0 8 * * 1")
    assert not windows.is_active(w, zurich(2026, 11, 30, 8, 0))
    assert windows.is_active(w, zurich(2026, 12, 1, 9, 0))


def test_a_start_without_end_in_between_keeps_the_first_start():
    w = window(start_cron="0 9 * * *", end_cron="0 18 * * 5")
    occurrence = windows.occurrence_at(w, zurich(2026, 11, 26, 20, 0))
    assert occurrence.start == zurich(2026, 11, 21, 9, 0)
    assert occurrence.end == zurich(2026, 11, 27, 18, 0)


def test_one_off_window_is_half_open():
    w = window(starts_at=zurich(2026, 12, 20, 0, 0), ends_at=zurich(2027, 1, 4, 0, 0))
    assert windows.is_active(w, zurich(2026, 12, 20, 0, 0))
    assert not windows.is_active(w, zurich(2027, 1, 4, 0, 0))
    assert windows.next_change(w, zurich(2026, 12, 1)) == (zurich(2026, 12, 20), zurich(2027, 1, 4))


def test_public_holidays_of_zurich_freeze_whole_local_days():
    w = window(holiday_country="CH", holiday_subdivision="ZH")
    assert windows.is_active(w, zurich(2026, 8, 1, 0, 0))
    assert windows.is_active(w, zurich(2026, 8, 1, 23, 59))
    assert not windows.is_active(w, zurich(2026, 8, 2, 0, 0))
    assert not windows.is_active(w, zurich(2026, 7, 31, 23, 59))
    christmas = windows.occurrence_at(w, zurich(2026, 12, 25, 10, 0))
    assert christmas == (zurich(2026, 12, 25), zurich(2026, 12, 27))


def test_subdivision_holidays_differ_from_the_national_ones():
    zurich_canton = window(holiday_country="CH", holiday_subdivision="ZH")
    valais = window(holiday_country="CH", holiday_subdivision="VS")
    nation = window(holiday_country="CH")
    easter_monday = zurich(2026, 4, 6, 12, 0)
    saint_joseph = zurich(2026, 3, 19, 12, 0)
    assert windows.is_active(zurich_canton, easter_monday)
    assert not windows.is_active(nation, easter_monday)
    assert windows.is_active(valais, saint_joseph)
    assert not windows.is_active(zurich_canton, saint_joseph)
    assert windows.holiday_names(zurich_canton, easter_monday.date()) == "Easter Monday"


def test_rule_and_occurrence_in_words():
    w = window(**WEEKEND)
    occurrence = windows.next_occurrences(w, zurich(2026, 11, 23), count=1)[0]
    assert windows.describe_occurrence(occurrence, ZURICH) == "Fri 12:00 → Mon 08:00, Europe/Zurich"
    rule = windows.describe_rule(w)
    assert "12:00" in rule and "Friday" in rule and "08:00" in rule and "Monday" in rule


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)))
def test_gitlab_rule_holds_at_any_instant(t):
    w = window(**EVENING)
    latest_start = windows._latest_at_or_before(w.start_cron, ZURICH, t)
    latest_end = windows._latest_at_or_before(w.end_cron, ZURICH, t)
    expected = latest_start is not None and (latest_end is None or latest_start > latest_end)
    assert windows.is_active(w, t) == expected
    local = t.astimezone(ZURICH)
    weekday_evening = local.weekday() < 4 and local.hour >= 16
    weekday_night = 1 <= local.weekday() <= 4 and local.hour < 8
    assert expected == (weekday_evening or weekday_night)


CRON_PAIRS = [
    ("0 12 * * 5", "0 8 * * 1"),
    ("*/30 * * * *", "0 8 * * 1"),
    ("0 9 * * *", "0 18 * * 5"),
    ("30 2 * * *", "0 3 * * *"),
    ("0 8 * * *", "0 8 * * 1"),
    ("0 0 1 * *", "0 0 15 * *"),
]


@settings(max_examples=40, deadline=None)
@given(
    pair=st.sampled_from(CRON_PAIRS),
    t=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
)
def test_occurrences_agree_with_the_gitlab_rule(pair, t):
    w = window(start_cron=pair[0], end_cron=pair[1])
    latest_start = windows._latest_at_or_before(w.start_cron, ZURICH, t)
    latest_end = windows._latest_at_or_before(w.end_cron, ZURICH, t)
    expected = latest_start is not None and (latest_end is None or latest_start > latest_end)
    found = windows.occurrences(w, t - timedelta(days=3), t + timedelta(days=3))
    assert any(o.contains(t) for o in found) == expected
    assert all(o.start < o.end for o in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_frequent_starts_do_not_make_a_week_slow():
    import time

    w = window(start_cron="* * * * *", end_cron="0 8 * * 1")
    started = time.perf_counter()
    found = windows.occurrences(w, zurich(2026, 11, 23), zurich(2026, 12, 7))
    assert time.perf_counter() - started < 1.0
    assert found[0] == (zurich(2026, 11, 16, 8, 1), zurich(2026, 11, 23, 8, 0))
    assert found[1] == (zurich(2026, 11, 23, 8, 1), zurich(2026, 11, 30, 8, 0))


@pytest.mark.parametrize(
    "naive,expected",
    [
        (datetime(2026, 3, 29, 2, 15), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 2, 15), datetime(2026, 10, 25, 0, 15, tzinfo=UTC)),
        (datetime(2026, 6, 1, 12, 0), datetime(2026, 6, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_local_times_in_gaps_and_folds(naive, expected):
    assert clock.localize(naive, ZURICH) == expected
