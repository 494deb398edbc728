"""The layer editors (restriction pickers, ordered people) and the schedule picture on the viewer's own clock."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from people.models import Profile
from rotations.models import Layer
from tests.factories import UserFactory
from tests.rotations.factories import LayerFactory, ScheduleFactory

ZURICH = ZoneInfo("Europe/Zurich")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2024, 6, 5, 12, 0, tzinfo=ZURICH)  # a Wednesday
MONDAY = datetime(2024, 6, 3, 9, 0, tzinfo=ZURICH)
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def schedule(db):
    return ScheduleFactory(name="Platform", time_zone="Europe/Zurich")


@pytest.fixture
def signed_in(client, manager):
    client.force_login(manager)
    return client


def management_form(prefix, total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def rows(prefix, *rows):
    """Restriction rows as the widget posts them: (first day, last day, start, end) per row."""
    data = {}
    for suffix, column in zip(("first", "last", "start", "end"), zip(*rows, strict=True), strict=True):
        data[f"{prefix}_{suffix}"] = list(column)
    return data


def schedule_form(people_ids, restriction_rows=(("", "", "", ""),)):
    return {
        "name": "Platform",
        "description": "",
        "time_zone": "Europe/Zurich",
        **management_form("layers", total=1),
        "layers-0-name": "Primary",
        "layers-0-priority": "0",
        "layers-0-rotation_start_0": "2024-06-03",
        "layers-0-rotation_start_1": "09:00:00",
        "layers-0-shift_length": "1",
        "layers-0-shift_unit": "days",
        "layers-0-participants": [str(pk) for pk in people_ids],
        **rows("layers-0-restrictions", *restriction_rows),
        **management_form("overrides"),
    }


def change_url(schedule, query=""):
    return reverse("admin:rotations_schedule_change", args=[schedule.pk]) + query


def test_rows_of_pickers_on_the_schedule_page_store_the_json_restrictions_and_the_order(signed_in, schedule, people):
    ann, ben, _cat, _dan = people
    data = schedule_form(
        [ben.pk, ann.pk, ben.pk],
        [
            ("mon", "fri", "09:00", "18:00"),
            ("", "", "22:00", "06:00"),
            ("fri", "mon", "20:00", "08:00"),
            ("sat", "", "10:00:00", "14:00"),
            ("", "", "", ""),  # the blank row the form always offers
        ],
    )

    response = signed_in.post(change_url(schedule), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    layer = Layer.objects.get()
    assert layer.restrictions == [
        {"days": WEEKDAYS, "start": "09:00", "end": "18:00"},
        {"start": "22:00", "end": "06:00"},
        {"days": ["fri", "sat", "sun", "mon"], "start": "20:00", "end": "08:00"},
        {"days": ["sat"], "start": "10:00", "end": "14:00"},
    ]
    assert layer.participant_ids() == [ben.pk, ann.pk, ben.pk]


@pytest.mark.parametrize(
    ("restriction_rows", "message"),
    [
        ((("mon", "fri", "09:00", "18:00"), ("sat", "", "10:00", "")), "Row 2: choose the end time."),
        ((("", "", "", "17:00"),), "Row 1: choose the start time."),
        ((("mon", "", "25:00", "17:00"),), "Row 1: &#x27;25:00&#x27; is not a time (HH:MM)."),
        ((("funday", "", "09:00", "17:00"),), "Row 1: choose weekdays from the lists."),
        ((("", "fri", "09:00", "17:00"),), "Row 1: choose a first day for the days up to Friday."),
    ],
)
def test_a_bad_restriction_row_is_a_form_error_naming_the_row(signed_in, schedule, people, restriction_rows, message):
    response = signed_in.post(change_url(schedule), schedule_form([people[0].pk], restriction_rows))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Layer.objects.exists()


def test_an_inactive_or_unknown_person_is_a_form_error_naming_the_row(signed_in, schedule, people):
    gone = UserFactory(username="gone", is_active=False)

    response = signed_in.post(change_url(schedule), schedule_form([people[0].pk, gone.pk, "abc"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Row 2: that person is unknown or no longer active." in html
    assert "Row 3: choose a person from the list." in html
    assert not Layer.objects.exists()


def test_the_editors_show_rows_and_people_not_json(signed_in, schedule, people):
    LayerFactory(
        schedule=schedule,
        rotation_start=MONDAY,
        participants=[people[1], people[0]],
        restrictions=[{"days": ["mon", "tue", "wed", "sat"], "start": "09:00", "end": "17:00"}],
    )

    html = signed_in.get(change_url(schedule)).content.decode()

    assert '"days":' not in html and "&quot;days&quot;" not in html
    assert "rotations/editors.js" in html and "admin/js/autocomplete.js" in html
    # Non-consecutive days come back as one row per run of days: Monday–Wednesday, Saturday.
    firsts = re.findall(r'name="layers-0-restrictions_first"[^>]*>(.*?)</select>', html, re.S)
    chosen = [re.search(r'value="(\w*)" selected', select).group(1) for select in firsts]
    assert chosen == ["mon", "sat", ""]  # and the blank row
    people_selects = re.findall(r'<select name="layers-0-participants".*?</select>', html, re.S)
    assert [re.search(r'value="(\d+)" selected', s).group(1) for s in people_selects] == [
        str(people[1].pk),
        str(people[0].pk),
    ]
    assert 'data-model-name="participant"' in html


def test_layer_page_reorders_people_and_edits_restrictions(signed_in, schedule, people):
    ann, ben, cat, _dan = people
    layer = LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=[ann, ben, cat])

    response = signed_in.post(
        reverse("admin:rotations_layer_change", args=[layer.pk]),
        {
            "schedule": schedule.pk,
            "name": layer.name,
            "priority": "0",
            "rotation_start_0": "2024-06-03",
            "rotation_start_1": "09:00:00",
            "shift_length": "1",
            "shift_unit": "weeks",
            "participants": [str(cat.pk), str(ann.pk), str(ben.pk)],
            **rows("restrictions", ("sat", "sun", "00:00", "00:00")),
        },
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    layer.refresh_from_db()
    assert layer.participant_ids() == [cat.pk, ann.pk, ben.pk]
    assert layer.restrictions == [{"days": ["sat", "sun"], "start": "00:00", "end": "00:00"}]


def test_change_from_takes_rows_and_people(signed_in, schedule, people):
    ann, ben, cat, dan = people
    layer = LayerFactory(schedule=schedule, rotation_start=MONDAY, shift_unit="days", participants=[ann, ben])

    response = signed_in.post(
        reverse("admin:rotations_layer_change_from", args=[layer.pk]),
        {
            "at_0": "2024-06-07",
            "at_1": "09:00:00",
            "name": "Primary",
            "priority": "0",
            "shift_length": "1",
            "shift_unit": "days",
            "participants": [str(dan.pk), str(cat.pk)],
            **rows("restrictions", ("mon", "fri", "08:00", "20:00"), ("", "", "", "")),
        },
    )

    assert response.status_code == 302
    new = Layer.objects.exclude(pk=layer.pk).get()
    assert new.participant_ids() == [dan.pk, cat.pk]
    assert new.restrictions == [{"days": WEEKDAYS, "start": "08:00", "end": "20:00"}]
    layer.refresh_from_db()
    assert layer.participant_ids() == [ann.pk, ben.pk]  # history kept: the old layer keeps its people


def test_change_from_needs_somebody(signed_in, schedule, people):
    layer = LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1])
    url = reverse("admin:rotations_layer_change_from", args=[layer.pk])

    form = signed_in.get(url)
    response = signed_in.post(url, {"at_0": "2024-06-07", "at_1": "09:00:00", "name": "x", "priority": "0"})

    assert form.status_code == 200 and "[{" not in form.content.decode()
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert Layer.objects.count() == 1


def test_the_people_picker_offers_active_people_only(signed_in, people):
    UserFactory(username="annette", first_name="Annette", is_active=False)

    response = signed_in.get(
        reverse("admin:autocomplete"),
        {"app_label": "rotations", "model_name": "participant", "field_name": "user", "term": "ann"},
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(people[0].pk)]


def test_the_people_picker_is_closed_to_people_outside_the_admin(client, outsider, people):
    client.force_login(outsider)

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "rotations", "model_name": "participant", "field_name": "user", "term": "ann"},
    )

    assert response.status_code in (302, 403)


def test_readers_see_people_and_hours_as_text(client, responder, schedule, people):
    LayerFactory(
        schedule=schedule,
        rotation_start=MONDAY,
        participants=people[:2],
        restrictions=[{"days": WEEKDAYS, "start": "09:00", "end": "17:00"}],
    )
    client.force_login(responder)

    html = client.get(change_url(schedule)).content.decode()

    assert "Monday – Friday 09:00–17:00" in html
    assert "Ann Oncall, Ben Oncall" in html
    assert '"days":' not in html and "&quot;days&quot;" not in html


def test_week_and_month_navigation(signed_in, schedule, people):
    LayerFactory(schedule=schedule, rotation_start=MONDAY, shift_unit="days", participants=people[:2])

    week = signed_in.get(change_url(schedule, "?span=week&start=2024-06-20"))
    month = signed_in.get(change_url(schedule, "?span=month&start=2024-02-10"))
    default = signed_in.get(change_url(schedule))

    timeline = week.context["timeline"]
    assert (timeline["start"], timeline["end"]) == (
        datetime(2024, 6, 17, tzinfo=ZURICH),
        datetime(2024, 6, 24, tzinfo=ZURICH),
    )
    html = week.content.decode()
    assert 'href="?span=week&amp;start=2024-06-10"' in html  # previous
    assert 'href="?span=week&amp;start=2024-06-24"' in html  # next
    assert 'href="?span=week&amp;start=2024-06-05"' in html  # today
    assert "Week of Mon 17 Jun 2024 – Sun 23 Jun 2024" in html
    assert len(timeline["ticks"]) == 6
    timeline = month.context["timeline"]
    assert (timeline["start"], timeline["end"]) == (
        datetime(2024, 2, 1, tzinfo=ZURICH),
        datetime(2024, 3, 1, tzinfo=ZURICH),
    )
    assert "February 2024" in month.content.decode()
    assert 'href="?span=month&amp;start=2024-01-01"' in month.content.decode()
    assert len(timeline["ticks"]) == 28
    assert default.context["timeline"]["start"] == NOW
    assert len(default.context["timeline"]["ticks"]) == 14


@pytest.mark.parametrize("query", ["?span=week&start=nonsense", "?span=month&start=99999-01-01", "?span=x&start=1"])
def test_unreadable_navigation_shows_today(signed_in, schedule, query):
    response = signed_in.get(change_url(schedule, query))

    assert response.status_code == 200
    assert response.context["timeline"]["start"] <= NOW < response.context["timeline"]["end"]


def test_far_windows_show_their_overrides(signed_in, schedule, people):
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1])
    schedule.overrides.create(
        user=people[3], start=datetime(2025, 3, 4, 9, tzinfo=ZURICH), end=datetime(2025, 3, 4, 17, tzinfo=ZURICH)
    )

    response = signed_in.get(change_url(schedule, "?span=week&start=2025-03-04"))

    assert "Dan Oncall (override)" in response.content.decode()


def test_the_picture_names_people_in_full(signed_in, schedule):
    long_names = [
        UserFactory(username="aj", first_name="Anne-Josephine", last_name="de la Fontaine"),
        UserFactory(username="bo", first_name="Bartholomew", last_name="Okonkwo-Smith"),
    ]
    LayerFactory(schedule=schedule, rotation_start=MONDAY, shift_unit="days", participants=long_names)

    response = signed_in.get(change_url(schedule, "?span=week"))

    html = response.content.decode()
    legend = html.split('class="piquet-legend"')[1].split("</p>")[0]
    assert "Anne-Josephine de la Fontaine" in legend and "Bartholomew Okonkwo-Smith" in legend
    assert 'title="Anne-Josephine de la Fontaine: Mon 03 Jun 09:00 → Tue 04 Jun 09:00"' in html
    assert re.search(r'class="bar"[^>]*>Bartholomew Okonkwo-Smith</span>', html)


def viewer_in(zone, manager):
    Profile.objects.update_or_create(user=manager, defaults={"time_zone": zone})


def ticks_of(html):
    return re.findall(r'class="tick"[^>]*data-at="([^"]+)"', html)


def test_the_picture_is_drawn_on_the_viewers_clock(client, manager, schedule, people):
    LayerFactory(schedule=schedule, rotation_start=MONDAY, shift_unit="days", participants=people[:2])
    client.force_login(manager)
    # The week in which New York leaves daylight saving time (Sunday 3 November 2024).
    query = "?span=week&start=2024-10-30"

    viewer_in("America/New_York", manager)
    new_york = client.get(change_url(schedule, query))
    viewer_in("Europe/Zurich", manager)
    zurich = client.get(change_url(schedule, query))

    ny_html, zh_html = new_york.content.decode(), zurich.content.decode()
    assert "Times and days in your time zone: <strong>America/New_York</strong>" in ny_html
    assert "Times and days in your time zone: <strong>Europe/Zurich</strong>" in zh_html
    assert ticks_of(ny_html)[0] == "2024-10-29T04:00:00+00:00"  # midnight in New York (EDT)
    assert ticks_of(zh_html)[0] == "2024-10-28T23:00:00+00:00"  # midnight in Zurich (CET)
    timeline = new_york.context["timeline"]
    assert timeline["start"] == datetime(2024, 10, 28, tzinfo=NEW_YORK)
    last_tick = timeline["ticks"][-1]["at"]
    assert timeline["end"] - last_tick == timedelta(hours=25)  # Sunday is 25 hours long in New York
    assert timeline["ticks"][1]["at"] - timeline["ticks"][0]["at"] == timedelta(hours=24)
    # Handoffs (09:00 in Zurich) shown on the viewer's clock.
    assert "Wed 30 Oct 04:00" in ny_html
    assert "Wed 30 Oct 09:00" in zh_html


def schedule_with(count):
    schedule = ScheduleFactory(name=f"Rota {count}")
    people = [UserFactory(username=f"r{count}-{n}", first_name=f"P{n}", last_name="X") for n in range(count)]
    LayerFactory(schedule=schedule, rotation_start=MONDAY, shift_unit="hours", participants=people)
    LayerFactory(
        schedule=schedule,
        rotation_start=MONDAY,
        priority=2,
        shift_unit="days",
        participants=people[::-1],
        restrictions=[{"days": WEEKDAYS, "start": "09:00", "end": "17:00"}],
    )
    schedule.overrides.create(user=people[0], start=NOW, end=NOW + timedelta(hours=2))
    return schedule


@pytest.mark.parametrize("query", ["", "?span=month&start=2024-06-01"])
def test_schedule_page_queries_do_not_grow_with_participants(signed_in, django_assert_max_num_queries, query):
    few, many = schedule_with(2), schedule_with(20)
    with CaptureQueriesContext(connection) as baseline:
        assert signed_in.get(change_url(few, query)).status_code == 200

    with django_assert_max_num_queries(len(baseline.captured_queries)):
        response = signed_in.get(change_url(many, query))
    assert response.status_code == 200
    assert response.content.decode().count('<select name="layers-0-participants"') == 20


def test_a_layer_added_on_its_own_page_gets_its_people_and_hours(signed_in, schedule, people):
    ann, ben, _cat, _dan = people
    form = signed_in.get(reverse("admin:rotations_layer_add"))

    response = signed_in.post(
        reverse("admin:rotations_layer_add"),
        {
            "schedule": schedule.pk,
            "name": "Nights",
            "priority": "1",
            "rotation_start_0": "2024-06-03",
            "rotation_start_1": "20:00:00",
            "shift_length": "1",
            "shift_unit": "weeks",
            "participants": ["", str(ben.pk), str(ann.pk)],
            **rows("restrictions", ("", "", "20:00", "08:00")),
        },
    )

    assert form.status_code == 200 and "piquet-restrictions" in form.content.decode()
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    layer = Layer.objects.get(name="Nights")
    assert layer.participant_ids() == [ben.pk, ann.pk]
    assert layer.restrictions == [{"start": "20:00", "end": "08:00"}]


def test_someone_who_left_does_not_block_saving_the_schedule_but_cannot_be_added(signed_in, schedule, people):
    ann, ben, cat, _dan = people
    layer = LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=[ann, ben])
    ben.is_active = False
    ben.save(update_fields=["is_active"])
    cat.is_active = False
    cat.save(update_fields=["is_active"])
    data = {
        **schedule_form([ann.pk, ben.pk]),
        **management_form("layers", total=1, initial=1),
        "layers-0-id": str(layer.pk),
        "layers-0-schedule": str(schedule.pk),
        "layers-0-name": layer.name,
        "layers-0-shift_unit": "weeks",
        "description": "Renamed only",
    }

    kept = signed_in.post(change_url(schedule), data)
    added = signed_in.post(change_url(schedule), {**data, "layers-0-participants": [str(ann.pk), str(cat.pk)]})

    assert kept.status_code == 302, kept.context and kept.context["errors"]
    assert "Row 2: that person is unknown or no longer active." in added.content.decode()
    assert Layer.objects.get(pk=layer.pk).participant_ids() == [ann.pk, ben.pk]


def test_readers_see_the_layer_page_as_text(client, responder, schedule, people):
    layer = LayerFactory(
        schedule=schedule,
        rotation_start=MONDAY,
        participants=people[:2],
        restrictions=[{"days": ["sat", "sun", "mon"], "start": "22:00", "end": "06:00"}],
    )
    client.force_login(responder)

    response = client.get(reverse("admin:rotations_layer_change", args=[layer.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Saturday – Monday 22:00–06:00" in html
    assert "Ann Oncall, Ben Oncall" in html
    assert '"days":' not in html and "&quot;days&quot;" not in html


def test_removing_every_row_removes_the_restrictions(signed_in, schedule, people):
    layer = LayerFactory(
        schedule=schedule,
        rotation_start=MONDAY,
        participants=people[:1],
        restrictions=[{"days": WEEKDAYS, "start": "09:00", "end": "17:00"}],
    )
    data = {
        "schedule": schedule.pk,
        "name": layer.name,
        "priority": "0",
        "rotation_start_0": "2024-06-03",
        "rotation_start_1": "09:00:00",
        "shift_length": "1",
        "shift_unit": "weeks",
        "participants": [str(people[0].pk)],
    }  # no row at all: the script removed them

    response = signed_in.post(reverse("admin:rotations_layer_change", args=[layer.pk]), data)

    assert response.status_code == 302
    layer.refresh_from_db()
    assert layer.restrictions == []
