"""Lists and pages about schedules issue a number of queries that does not grow with the rows."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rotations.models import CalendarFeed
from tests.factories import UserFactory
from tests.rotations.factories import LayerFactory, OverrideFactory, ScheduleFactory

NOW = datetime(2024, 6, 5, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def add_schedules(count, offset):
    for n in range(count):
        users = [UserFactory(username=f"p{offset + n}-{i}") for i in range(3)]
        schedule = ScheduleFactory(name=f"S{offset + n:03d}")
        LayerFactory(schedule=schedule, rotation_start=datetime(2024, 6, 3, 7, tzinfo=UTC), participants=users)
        LayerFactory(
            schedule=schedule,
            priority=2,
            rotation_start=datetime(2024, 6, 3, 7, tzinfo=UTC),
            shift_unit="days",
            participants=users[::-1],
            restrictions=[{"days": ["mon", "tue"], "start": "09:00", "end": "17:00"}],
        )
        OverrideFactory(schedule=schedule, user=users[1], start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1))
        CalendarFeed.objects.create(schedule=schedule)


def assert_constant(fetch, django_assert_max_num_queries):
    add_schedules(2, 0)
    with CaptureQueriesContext(connection) as few:
        first = fetch()
    assert first.status_code == 200
    add_schedules(10, 100)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert fetch().status_code == 200


@pytest.fixture
def api(api_for, manager):
    return api_for(manager)


@pytest.fixture
def browser(client, manager):
    client.force_login(manager)
    return client


def test_oncall_for_every_schedule_does_not_grow_with_schedules(api, django_assert_max_num_queries):
    assert_constant(lambda: api.get("/api/v1/oncall/"), django_assert_max_num_queries)


def test_schedule_list_is_constant(api, django_assert_max_num_queries):
    assert_constant(lambda: api.get("/api/v1/schedules/"), django_assert_max_num_queries)


def test_layer_list_is_constant(api, django_assert_max_num_queries):
    schedule = ScheduleFactory()

    LayerFactory(schedule=schedule, participants=[UserFactory(), UserFactory()])
    with CaptureQueriesContext(connection) as few:
        api.get(f"/api/v1/schedules/{schedule.pk}/layers/")
    for _ in range(8):
        LayerFactory(schedule=schedule, participants=[UserFactory(), UserFactory()])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(f"/api/v1/schedules/{schedule.pk}/layers/").json()["results"]) == 9


def test_override_list_is_constant(api, django_assert_max_num_queries):
    schedule = ScheduleFactory()
    OverrideFactory(schedule=schedule)
    with CaptureQueriesContext(connection) as few:
        api.get(f"/api/v1/schedules/{schedule.pk}/overrides/")
    for _ in range(8):
        OverrideFactory(schedule=schedule)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(f"/api/v1/schedules/{schedule.pk}/overrides/").json()["results"]) == 9


def test_user_list_is_constant(api, django_assert_max_num_queries):
    assert_constant(lambda: api.get("/api/v1/users/"), django_assert_max_num_queries)


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:rotations_schedule_changelist",
        "admin:rotations_layer_changelist",
        "admin:rotations_override_changelist",
        "admin:rotations_calendarfeed_changelist",
        "admin:index",
    ],
)
def test_admin_pages_are_constant(browser, url_name, django_assert_max_num_queries):
    assert_constant(lambda: browser.get(reverse(url_name)), django_assert_max_num_queries)
