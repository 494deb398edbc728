"""The schedules API: CRUD, on call, shifts, bad input and permissions."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from rotations.models import Layer, Override, Schedule
from tests.rotations.factories import LayerFactory, OverrideFactory, ScheduleFactory

ZURICH = ZoneInfo("Europe/Zurich")
MONDAY = datetime(2024, 6, 3, 9, 0, tzinfo=ZURICH)


def parse(value):
    return datetime.fromisoformat(value)


@pytest.fixture
def schedule(db):
    return ScheduleFactory(name="Platform", time_zone="Europe/Zurich")


@pytest.fixture
def rotation(schedule, people):
    return LayerFactory(
        schedule=schedule, name="Primary", rotation_start=MONDAY, shift_unit="days", participants=people[:2]
    )


# --- schedules ------------------------------------------------------------------------------------


def test_manager_creates_reads_updates_and_deletes_a_schedule(api_for, manager):
    api = api_for(manager)

    created = api.post(
        "/api/v1/schedules/", {"name": "Database", "description": "DBAs", "time_zone": "America/Chicago"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert set(created.json()) == {"id", "name", "team", "description", "time_zone"}
    url = f"/api/v1/schedules/{created.json()['id']}/"
    assert api.patch(url, {"time_zone": "Europe/Zurich"}, format="json").json()["time_zone"] == "Europe/Zurich"
    assert api.get(url).json()["name"] == "Database"
    assert api.delete(url).status_code == 204
    assert not Schedule.objects.exists()


def test_unknown_time_zone_is_a_400_naming_the_field(api_for, manager):
    response = api_for(manager).post("/api/v1/schedules/", {"name": "X", "time_zone": "Europe/Atlantis"}, format="json")

    assert response.status_code == 400
    assert "time_zone" in response.json()
    assert "Europe/Atlantis" in response.json()["time_zone"][0]


def test_responder_may_read_but_not_change_schedules(api_for, responder, schedule):
    api = api_for(responder)

    assert api.get("/api/v1/schedules/").status_code == 200
    assert api.post("/api/v1/schedules/", {"name": "X", "time_zone": "UTC"}, format="json").status_code == 403
    assert api.delete(f"/api/v1/schedules/{schedule.pk}/").status_code == 403


def test_outsider_without_role_cannot_read_schedules(api_for, outsider, schedule):
    assert api_for(outsider).get("/api/v1/schedules/").status_code == 403
    assert api_for(None).get(f"/api/v1/schedules/{schedule.pk}/oncall/").status_code == 401


# --- layers ---------------------------------------------------------------------------------------


def layer_body(people, **changes):
    body = {
        "name": "Primary",
        "priority": 1,
        "rotation_start": "2024-06-03T09:00:00+02:00",
        "shift_length": 1,
        "shift_unit": "weeks",
        "participants": [people[0].pk, people[1].pk, people[0].pk],
        "restrictions": [{"days": ["mon", "fri"], "start": "20:00", "end": "08:00"}],
    }
    body.update(changes)
    return body


def test_layer_is_created_with_participants_in_order_and_repeats(api_for, manager, schedule, people):
    api = api_for(manager)

    response = api.post(f"/api/v1/schedules/{schedule.pk}/layers/", layer_body(people), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["participants"] == [people[0].pk, people[1].pk, people[0].pk]
    assert parse(data["starts_at"]) == MONDAY  # defaults to the rotation start
    assert data["ends_at"] is None
    assert set(data) == {
        "id",
        "name",
        "priority",
        "rotation_start",
        "starts_at",
        "ends_at",
        "shift_length",
        "shift_unit",
        "participants",
        "restrictions",
    }
    layer = Layer.objects.get()
    assert layer.schedule == schedule
    assert layer.participant_ids() == [people[0].pk, people[1].pk, people[0].pk]


def test_layer_update_replaces_participants_and_listing_is_per_schedule(api_for, manager, rotation, people):
    api = api_for(manager)
    url = f"/api/v1/schedules/{rotation.schedule_id}/layers/{rotation.pk}/"

    response = api.patch(url, {"participants": [people[3].pk, people[2].pk]}, format="json")
    other = ScheduleFactory()
    LayerFactory(schedule=other, participants=people[:1])

    assert response.status_code == 200, response.content
    assert response.json()["participants"] == [people[3].pk, people[2].pk]
    listed = api.get(f"/api/v1/schedules/{rotation.schedule_id}/layers/").json()
    assert [layer["id"] for layer in listed["results"]] == [rotation.pk]
    assert api.delete(url).status_code == 204


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"shift_length": 0}, "shift_length", "1"),
        ({"shift_unit": "fortnights"}, "shift_unit", "fortnights"),
        ({"restrictions": [{"days": ["mon", "funday"], "start": "09:00", "end": "17:00"}]}, "restrictions", "funday"),
        ({"restrictions": [{"days": ["mon"], "start": "9am", "end": "17:00"}]}, "restrictions", "HH:MM"),
        ({"restrictions": [{"days": ["mon"], "start": "24:00", "end": "17:00"}]}, "restrictions", "HH:MM"),
        ({"restrictions": {"days": ["mon"]}}, "restrictions", "list"),
        ({"participants": [999999]}, "participants", "999999"),
        ({"rotation_start": "next monday"}, "rotation_start", "format"),
        ({"ends_at": "2024-06-01T00:00:00Z"}, "ends_at", "after"),
    ],
)
def test_bad_layer_input_is_a_400_naming_the_field(api_for, manager, schedule, people, changes, field, words):
    response = api_for(manager).post(
        f"/api/v1/schedules/{schedule.pk}/layers/", layer_body(people, **changes), format="json"
    )

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert words in str(response.json()[field])
    assert not Layer.objects.exists()


def test_layers_of_an_unknown_schedule_are_404(api_for, manager):
    assert api_for(manager).get("/api/v1/schedules/424242/layers/").status_code == 404


# --- overrides ------------------------------------------------------------------------------------


def test_override_crud_records_who_created_it(api_for, manager, schedule, people):
    api = api_for(manager)
    body = {"user": people[2].pk, "start": "2024-06-05T12:00:00Z", "end": "2024-06-05T18:00:00Z", "reason": "Swap"}

    created = api.post(f"/api/v1/schedules/{schedule.pk}/overrides/", body, format="json")

    assert created.status_code == 201, created.content
    assert set(created.json()) == {"id", "user", "start", "end", "reason"}
    override = Override.objects.get()
    assert (override.created_by, override.user, override.schedule) == (manager, people[2], schedule)
    url = f"/api/v1/schedules/{schedule.pk}/overrides/{override.pk}/"
    assert api.patch(url, {"reason": "Doctor"}, format="json").json()["reason"] == "Doctor"
    assert api.delete(url).status_code == 204


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"end": "2024-06-05T12:00:00Z"}, "end"),
        ({"end": "2024-06-05T11:00:00Z"}, "end"),
        ({"user": 999999}, "user"),
        ({"start": "yesterday"}, "start"),
    ],
)
def test_bad_override_is_a_400_naming_the_field(api_for, manager, schedule, people, changes, field):
    body = {"user": people[2].pk, "start": "2024-06-05T12:00:00Z", "end": "2024-06-05T18:00:00Z", **changes}

    response = api_for(manager).post(f"/api/v1/schedules/{schedule.pk}/overrides/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


# --- on call and shifts ---------------------------------------------------------------------------


def test_oncall_answers_who_from_which_layer_and_the_segment(api_for, responder, rotation, people):
    response = api_for(responder).get(
        f"/api/v1/schedules/{rotation.schedule_id}/oncall/", {"at": "2024-06-04T12:00:00+02:00"}
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["schedule"] == rotation.schedule_id
    assert parse(data["at"]) == datetime(2024, 6, 4, 10, 0, tzinfo=UTC)
    assert data["users"] == [{"id": people[1].pk, "username": "ben", "name": "Ben Oncall"}]
    assert (data["source"], data["layer"]) == ("layer", rotation.pk)
    assert parse(data["shift"]["start"]) == datetime(2024, 6, 4, 9, 0, tzinfo=ZURICH)
    assert parse(data["shift"]["end"]) == datetime(2024, 6, 5, 9, 0, tzinfo=ZURICH)


def test_oncall_reports_an_override(api_for, responder, rotation, people):
    OverrideFactory(
        schedule=rotation.schedule,
        user=people[3],
        start=datetime(2024, 6, 4, 10, tzinfo=UTC),
        end=datetime(2024, 6, 4, 14, tzinfo=UTC),
    )

    data = (
        api_for(responder)
        .get(f"/api/v1/schedules/{rotation.schedule_id}/oncall/", {"at": "2024-06-04T12:00:00Z"})
        .json()
    )

    assert [u["username"] for u in data["users"]] == ["dan"]
    assert (data["source"], data["layer"]) == ("override", None)
    assert parse(data["shift"]["end"]) == datetime(2024, 6, 4, 14, tzinfo=UTC)


def test_oncall_defaults_to_now_and_reports_a_gap(api_for, responder, schedule):
    with time_machine.travel(datetime(2024, 6, 4, 12, tzinfo=UTC), tick=False):
        data = api_for(responder).get(f"/api/v1/schedules/{schedule.pk}/oncall/").json()

    assert parse(data["at"]) == datetime(2024, 6, 4, 12, tzinfo=UTC)
    assert (data["users"], data["source"], data["layer"], data["shift"]) == ([], "none", None, None)


def test_oncall_accepts_a_plus_sign_decoded_as_a_space(api_for, responder, rotation):
    response = api_for(responder).get(f"/api/v1/schedules/{rotation.schedule_id}/oncall/?at=2024-06-04T12:00:00+02:00")

    assert response.status_code == 200
    assert parse(response.json()["at"]) == datetime(2024, 6, 4, 10, tzinfo=UTC)


@pytest.mark.parametrize("value", ["tomorrow", "2024-13-01T00:00:00Z", "2024-06-04T12:00:00"])
def test_oncall_with_a_bad_instant_is_a_400_naming_at(api_for, responder, rotation, value):
    response = api_for(responder).get(f"/api/v1/schedules/{rotation.schedule_id}/oncall/", {"at": value})

    assert response.status_code == 400
    assert "at" in response.json()


def test_shifts_give_the_final_schedule_cut_at_the_window_with_gaps(api_for, responder, rotation, people):
    rotation.ends_at = datetime(2024, 6, 6, 9, 0, tzinfo=ZURICH)
    rotation.save()
    OverrideFactory(
        schedule=rotation.schedule,
        user=people[3],
        start=datetime(2024, 6, 4, 20, tzinfo=ZURICH),
        end=datetime(2024, 6, 4, 22, tzinfo=ZURICH),
    )

    response = api_for(responder).get(
        f"/api/v1/schedules/{rotation.schedule_id}/shifts/",
        {"start": "2024-06-04T00:00:00+02:00", "end": "2024-06-07T00:00:00+02:00"},
    )

    assert response.status_code == 200, response.content
    data = response.json()
    got = [(s["user"]["username"], parse(s["start"]), parse(s["end"]), s["source"], s["layer"]) for s in data["shifts"]]
    local = lambda d, h: datetime(2024, 6, d, h, tzinfo=ZURICH)  # noqa: E731
    assert got == [
        ("ann", local(4, 0), local(4, 9), "layer", rotation.pk),
        ("ben", local(4, 9), local(4, 20), "layer", rotation.pk),
        ("dan", local(4, 20), local(4, 22), "override", None),
        ("ben", local(4, 22), local(5, 9), "layer", rotation.pk),
        ("ann", local(5, 9), local(6, 9), "layer", rotation.pk),
    ]
    assert [(parse(g["start"]), parse(g["end"])) for g in data["gaps"]] == [(local(6, 9), local(7, 0))]


def test_shifts_default_to_the_next_seven_days(api_for, responder, rotation):
    now = datetime(2024, 6, 4, 12, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        data = api_for(responder).get(f"/api/v1/schedules/{rotation.schedule_id}/shifts/").json()

    assert parse(data["shifts"][0]["start"]) == now
    assert parse(data["shifts"][-1]["end"]) == now + timedelta(days=7)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2024-01-01T00:00:00Z", "end": "2025-01-02T00:00:01Z"}, "end"),
        ({"start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"}, "end"),
        ({"start": "soon", "end": "2024-01-01T00:00:00Z"}, "start"),
        ({"start": "2024-01-01T00:00:00Z", "end": "2024-02-30T00:00:00Z"}, "end"),
    ],
)
def test_bad_shift_windows_are_a_400_naming_the_field(api_for, responder, rotation, params, field):
    response = api_for(responder).get(f"/api/v1/schedules/{rotation.schedule_id}/shifts/", params)

    assert response.status_code == 400
    assert field in response.json()


def test_a_window_of_exactly_366_days_is_accepted(api_for, responder, rotation):
    response = api_for(responder).get(
        f"/api/v1/schedules/{rotation.schedule_id}/shifts/",
        {"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
    )

    assert response.status_code == 200


def test_oncall_for_every_schedule_at_once(api_for, responder, rotation, people):
    empty = ScheduleFactory(name="Zz empty")

    response = api_for(responder).get("/api/v1/oncall/", {"at": "2024-06-04T12:00:00+02:00"})

    assert response.status_code == 200
    data = response.json()
    assert [(d["schedule"], d["name"]) for d in data] == [(rotation.schedule_id, "Platform"), (empty.pk, "Zz empty")]
    assert [u["username"] for u in data[0]["users"]] == ["ben"]
    assert data[1]["source"] == "none"
    assert api_for(responder).get("/api/v1/oncall/", {"at": "now"}).status_code == 400


# --- users ------------------------------------------------------------------------------------------


def test_users_are_listed_for_every_role_and_managers_create_them(api_for, manager, responder, people):
    listed = api_for(responder).get("/api/v1/users/")

    assert listed.status_code == 200
    assert {"ann", "rita"} <= {u["username"] for u in listed.json()["results"]}
    assert set(listed.json()["results"][0]) == {"id", "username", "name", "first_name", "last_name", "email"}
    body = {"username": "zoe", "first_name": "Zoé", "last_name": "New", "email": "zoe@example.com"}
    assert api_for(responder).post("/api/v1/users/", body, format="json").status_code == 403
    created = api_for(manager).post("/api/v1/users/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "Zoé New"
    duplicate = api_for(manager).post("/api/v1/users/", body, format="json")
    assert duplicate.status_code == 400
    assert "username" in duplicate.json()
