"""The API answers on the caller's clock: a person's token renders times in their Profile.time_zone."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from people.models import Profile
from tests.factories import UserFactory
from tests.rotations.factories import LayerFactory, ScheduleFactory

pytestmark = pytest.mark.django_db

AT = "2026-07-01T12:00:00Z"


@pytest.mark.parametrize(
    ("zone", "offset"), [("America/New_York", "-04:00"), ("Europe/Zurich", "+02:00"), ("", "+02:00")]
)
def test_times_in_an_api_answer_are_on_the_callers_clock(api_for, manager, settings, zone, offset):
    settings.TIME_ZONE = "Europe/Zurich"
    Profile.objects.update_or_create(user=manager, defaults={"time_zone": zone})
    schedule = ScheduleFactory()
    LayerFactory(schedule=schedule, rotation_start=datetime(2026, 1, 1, 8, tzinfo=UTC), participants=[UserFactory()])
    answer = api_for(manager).get(f"/api/v1/schedules/{schedule.pk}/oncall/?at={AT}").json()
    assert answer["at"].endswith(offset)
    assert datetime.fromisoformat(answer["at"]) == datetime(2026, 7, 1, 12, tzinfo=UTC)


def test_the_zone_does_not_outlive_the_request(api_for, manager, client):
    Profile.objects.update_or_create(user=manager, defaults={"time_zone": "America/New_York"})
    assert api_for(manager).get("/api/v1/schedules/").status_code == 200
    assert timezone.get_current_timezone_name() != "America/New_York"
