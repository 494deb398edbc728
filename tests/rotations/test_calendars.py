"""iCalendar feeds: parsed back and compared with the API."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from rotations.models import CalendarFeed
from tests.rotations.factories import LayerFactory, OverrideFactory, ScheduleFactory

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2024, 10, 20, 12, 0, tzinfo=UTC)  # the feed spans the October DST change


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def schedule(db, people):
    schedule = ScheduleFactory(name="Platform", time_zone="Europe/Zurich")
    LayerFactory(
        schedule=schedule,
        rotation_start=datetime(2024, 9, 2, 9, tzinfo=ZURICH),
        shift_unit="days",
        participants=people[:3],
        restrictions=[{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "09:00"}],
    )
    OverrideFactory(
        schedule=schedule, user=people[3], start=NOW + timedelta(days=2), end=NOW + timedelta(days=2, hours=5)
    )
    return schedule


def events(response):
    calendar = Calendar.from_ical(response.content)
    return list(calendar.walk("VEVENT"))


def api_shifts(api, schedule):
    start = (NOW - timedelta(days=7)).isoformat()
    end = (NOW + timedelta(days=90)).isoformat()
    return api.get(f"/api/v1/schedules/{schedule.pk}/shifts/", {"start": start, "end": end}).json()["shifts"]


def test_schedule_feed_matches_the_api_shifts(client, api_for, responder, schedule):
    feed = CalendarFeed.objects.create(schedule=schedule)

    response = client.get(reverse("rotations:calendar-feed", args=[feed.token]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    parsed = events(response)
    expected = api_shifts(api_for(responder), schedule)
    assert len(parsed) == len(expected) > 60
    for event, shift in zip(parsed, expected, strict=True):
        assert event.decoded("dtstart") == datetime.fromisoformat(shift["start"])
        assert event.decoded("dtend") == datetime.fromisoformat(shift["end"])
        assert event.decoded("dtstart").tzinfo is not None
        assert event.decoded("dtstart").utcoffset() == timedelta(0)
        assert str(event["summary"]) == "On call: Platform"
        assert shift["user"]["name"] in str(event["description"])
    assert len({str(e["uid"]) for e in parsed}) == len(parsed)
    assert b"DTSTART:20241013T120000Z" not in response.content  # nothing before the last 7 days
    lines = response.content.decode().splitlines()
    stamps = [line for line in lines if line.startswith(("DTSTART", "DTEND"))]
    assert len(stamps) == 2 * len(parsed)
    assert all(line.startswith(("DTSTART:", "DTEND:")) and line.endswith("Z") for line in stamps)


def test_person_feed_has_only_their_shifts_across_schedules(client, schedule, people):
    ann = people[0]
    other = ScheduleFactory(name="Database", time_zone="America/Chicago")
    LayerFactory(schedule=other, rotation_start=datetime(2024, 1, 1, tzinfo=UTC), participants=[ann])
    feed = CalendarFeed.objects.create(user=ann)

    parsed = events(client.get(feed.get_absolute_url()))

    summaries = {str(e["summary"]) for e in parsed}
    assert summaries == {"On call: Platform", "On call: Database"}
    assert all("Ann Oncall" in str(e["description"]) for e in parsed)
    starts = [e.decoded("dtstart") for e in parsed]
    assert starts == sorted(starts)


def test_unknown_or_revoked_token_is_404(client, schedule):
    feed = CalendarFeed.objects.create(schedule=schedule)
    old = feed.get_absolute_url()

    feed.regenerate_token()

    assert client.get(old).status_code == 404
    assert client.get(feed.get_absolute_url()).status_code == 200
    assert client.get("/calendars/guess.ics").status_code == 404
    assert len(feed.token) >= 40


def test_feed_revoked_in_the_admin_gets_a_new_url(client, manager, schedule):
    feed = CalendarFeed.objects.create(schedule=schedule)
    old = feed.token
    client.force_login(manager)

    response = client.post(
        reverse("admin:rotations_calendarfeed_changelist"),
        {"action": "revoke_and_replace", "_selected_action": [feed.pk]},
    )

    feed.refresh_from_db()
    assert response.status_code == 302
    assert feed.token != old
    assert client.get(f"/calendars/{old}.ics").status_code == 404


def test_calendar_feed_is_created_in_the_admin_and_shows_its_url(client, manager, schedule):
    client.force_login(manager)

    response = client.post(reverse("admin:rotations_calendarfeed_add"), {"schedule": schedule.pk, "user": ""})
    feed = CalendarFeed.objects.get()
    page = client.get(reverse("admin:rotations_calendarfeed_change", args=[feed.pk]))

    assert response.status_code == 302
    assert feed.created_by == manager
    assert feed.url in page.content.decode()


def test_calendar_feed_needs_exactly_one_of_schedule_or_person(client, manager, schedule, people):
    client.force_login(manager)

    response = client.post(reverse("admin:rotations_calendarfeed_add"), {"schedule": schedule.pk, "user": people[0].pk})

    assert response.status_code == 200
    assert "Choose either a schedule or a person." in response.content.decode()
    assert not CalendarFeed.objects.exists()
