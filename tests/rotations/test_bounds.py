"""Shift lengths and instants are bounded where they arrive: the API, the admin and the models."""

import pytest
from django.core.exceptions import ValidationError

from rotations.models import Layer
from tests.rotations.factories import LayerFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule():
    return ScheduleFactory(name="Platform")


def layer_body(**fields):
    return {"name": "Day", "rotation_start": "2026-11-30T08:00:00+01:00", "participants": [], **fields}


@pytest.mark.parametrize(("unit", "longest"), [("hours", 8760), ("days", 366), ("weeks", 53), ("months", 12)])
def test_the_api_takes_a_shift_of_a_year_and_refuses_a_longer_one(api_for, manager, schedule, unit, longest):
    url = f"/api/v1/schedules/{schedule.pk}/layers/"
    ok = api_for(manager).post(url, layer_body(shift_length=longest, shift_unit=unit), format="json")
    assert ok.status_code == 201, ok.content
    refused = api_for(manager).post(url, layer_body(shift_length=longest + 1, shift_unit=unit), format="json")
    assert refused.status_code == 400
    assert "shift_length" in refused.json()


def test_the_api_refuses_3_million_days_and_200_thousand_months(api_for, manager, schedule):
    url = f"/api/v1/schedules/{schedule.pk}/layers/"
    for length, unit in ((3_000_000, "days"), (200_000, "months")):
        response = api_for(manager).post(url, layer_body(shift_length=length, shift_unit=unit), format="json")
        assert response.status_code == 400 and "shift_length" in response.json()
    assert not Layer.objects.exists()


@pytest.mark.parametrize("instant", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00Z", "1893-06-01T00:00:00Z"])
def test_instants_outside_1970_to_9000_are_refused_with_a_400_naming_the_field(api_for, manager, schedule, instant):
    response = api_for(manager).post(
        f"/api/v1/schedules/{schedule.pk}/layers/", layer_body(rotation_start=instant), format="json"
    )
    assert response.status_code == 400
    assert "rotation_start" in response.json()
    override = api_for(manager).post(
        f"/api/v1/schedules/{schedule.pk}/overrides/",
        {"user": manager.pk, "start": instant, "end": "2026-12-01T00:00:00Z"},
        format="json",
    )
    assert override.status_code == 400 and "start" in override.json()


def test_the_model_refuses_what_the_admin_form_would_save(schedule):
    layer = LayerFactory.build(schedule=schedule, shift_length=367, shift_unit="days")
    with pytest.raises(ValidationError) as refused:
        layer.full_clean()
    assert "shift_length" in refused.value.message_dict


def test_the_admin_form_says_why(client, manager, schedule):
    client.force_login(manager)
    response = client.post(
        "/admin/rotations/layer/add/",
        {
            "schedule": schedule.pk,
            "name": "Too long",
            "priority": 0,
            "rotation_start_0": "2026-11-30",
            "rotation_start_1": "08:00:00",
            "shift_length": 3_000_000,
            "shift_unit": "days",
            "restrictions": "[]",
        },
    )
    assert response.status_code == 200
    assert "A shift is at most 366 days." in response.content.decode()
    assert not Layer.objects.exists()
