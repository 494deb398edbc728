"""Property: the final shifts over a window tile it exactly, and agree with `who_at`."""

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rotations import final_schedule, plans, restrictions

ZONES = ["Europe/Zurich", "America/Chicago", "Australia/Lord_Howe", "UTC", "Asia/Kolkata", "America/St_Johns"]
BASE = datetime(2024, 1, 1, tzinfo=UTC)
PEOPLE = st.sampled_from(["ann", "ben", "cat", "dan"])


def instant(max_days=400):
    return st.integers(min_value=0, max_value=max_days * 24 * 4).map(lambda q: BASE + timedelta(minutes=15 * q))


hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
restriction = st.fixed_dictionaries(
    {
        "days": st.lists(st.sampled_from(list(restrictions.WEEKDAYS)), min_size=1, max_size=7, unique=True),
        "start": hhmm,
        "end": hhmm,
    }
)


@st.composite
def layers(draw, tz, number):
    rotation_start = draw(instant())
    starts_at = rotation_start + timedelta(hours=draw(st.integers(-2000, 2000)))
    ends = draw(st.one_of(st.none(), st.integers(1, 5000)))
    return plans.make_layer(
        time_zone=tz,
        rotation_start=rotation_start,
        starts_at=starts_at,
        ends_at=None if ends is None else starts_at + timedelta(hours=ends),
        shift_length=draw(st.integers(1, 3)),
        shift_unit=draw(st.sampled_from(plans.UNITS)),
        participants=draw(st.lists(PEOPLE, min_size=0, max_size=4)),
        restrictions=draw(st.lists(restriction, max_size=2)),
        priority=draw(st.integers(0, 2)),
        id=number,
    )


@st.composite
def schedule_plans(draw):
    tz = draw(st.sampled_from(ZONES))
    count = draw(st.integers(1, 3))
    layer_plans = [draw(layers(tz, number)) for number in range(1, count + 1)]
    overrides = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(instant())
        overrides.append((start, start + timedelta(minutes=15 * draw(st.integers(1, 400))), draw(PEOPLE)))
    return plans.make_plan(time_zone=tz, layers=layer_plans, overrides=overrides)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=schedule_plans(),
    start=instant(),
    length=st.integers(1, 40 * 24 * 4),
    probes=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=8),
)
def test_shifts_tile_the_window_and_agree_with_oncall(plan, start, length, probes):
    end = start + timedelta(minutes=15 * length)

    segments = final_schedule.final_segments(plan, start, end)

    assert segments[0].start == start
    assert segments[-1].end == end
    for before, after in itertools.pairwise(segments):
        assert before.end == after.start
        assert (before.user, before.source, before.layer) != (after.user, after.source, after.layer)
    assert all(s.start < s.end for s in segments)
    assert all((s.user is None) == (s.source == final_schedule.SOURCE_NONE) for s in segments)
    for fraction in probes:
        t = start + timedelta(seconds=int((end - start).total_seconds() * fraction))
        found = next(s for s in segments if s.start <= t < s.end)
        assert final_schedule.who_at(plan, t) == (found.user, found.source, found.layer)
        around = final_schedule.segment_at(plan, t)
        if found.start > start:
            assert around.start == found.start
        if found.end < end:
            assert around.end == found.end
        # Stepping from edge to edge and searching ever larger windows agree, horizon included.
        for horizon in (timedelta(days=2), final_schedule.MAX_WINDOW):
            assert final_schedule.segment_at(plan, t, horizon=horizon) == final_schedule._segment_by_window(
                plan, t, horizon
            )
