"""DST in America/New_York (2026: spring forward 8 March 02:00, fall back 1 November 02:00)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rotations import plans
from rotations.models import Layer, Schedule
from tests.factories import UserFactory

NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def test_daily_handoff_stays_at_nine_local_across_both_changes():
    daily = plans.make_layer(
        time_zone=NEW_YORK,
        rotation_start=datetime(2026, 1, 5, 9, 0, tzinfo=NEW_YORK),
        shift_length=1,
        shift_unit="days",
        participants=("a", "b"),
    )
    spring = daily.shifts(datetime(2026, 3, 7, 14, tzinfo=UTC), datetime(2026, 3, 9, 13, tzinfo=UTC))
    fall = daily.shifts(datetime(2026, 10, 31, 13, tzinfo=UTC), datetime(2026, 11, 2, 14, tzinfo=UTC))

    assert [s.end - s.start for s in spring] == [23 * H, 24 * H]  # Saturday 09:00 EST → Sunday 09:00 EDT
    assert [s.end - s.start for s in fall] == [25 * H, 24 * H]  # Saturday 09:00 EDT → Sunday 09:00 EST
    for shift in [*spring, *fall]:
        assert shift.start.astimezone(NEW_YORK).hour == 9
        assert shift.end.astimezone(NEW_YORK).hour == 9


def test_weekly_shift_over_fall_back_lasts_169_hours():
    weekly = plans.make_layer(
        time_zone=NEW_YORK,
        rotation_start=datetime(2026, 10, 26, 9, 0, tzinfo=NEW_YORK),
        shift_length=1,
        shift_unit="weeks",
        participants=("a", "b"),
    )
    shift = weekly.shift_at(datetime(2026, 10, 30, 12, tzinfo=NEW_YORK))
    assert shift.end - shift.start == 169 * H


@pytest.mark.django_db
def test_who_is_on_call_through_the_api_follows_new_york_wall_clock(api_for, responder):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    schedule = Schedule.objects.create(name="US", time_zone="America/New_York")
    layer = Layer.objects.create(
        schedule=schedule,
        name="Daily",
        rotation_start=datetime(2026, 3, 6, 9, 0, tzinfo=NEW_YORK),
        shift_unit="days",
    )
    layer.set_participants([alice, bob])
    api = api_for(responder)

    # Daily shifts from Friday 6 March: Friday Alice, Saturday Bob, Sunday Alice.
    def who(local):
        at = local.astimezone(UTC).isoformat().replace("+00:00", "Z")
        data = api.get(f"/api/v1/schedules/{schedule.pk}/oncall/?at={at}").json()
        return data["users"][0]["username"], data["shift"]

    user, shift = who(datetime(2026, 3, 8, 8, 59, tzinfo=NEW_YORK))
    assert user == "bob"  # Saturday's shift, which the clock change shortened
    start = datetime.fromisoformat(shift["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(shift["end"].replace("Z", "+00:00"))
    assert end - start == 23 * H
    assert end.astimezone(NEW_YORK).hour == 9
    assert who(datetime(2026, 3, 8, 9, 0, tzinfo=NEW_YORK))[0] == "alice"
