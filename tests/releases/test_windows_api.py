"""/api/v1/releases/windows/: CRUD, computed fields and validation."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from releases.models import ReleaseWindow
from tests.factories import ServiceFactory
from tests.releases.factories import ReleaseWindowFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/releases/windows/"
ZURICH = ZoneInfo("Europe/Zurich")


@pytest.fixture
def managers_api(api_for, manager):
    return api_for(manager)


def weekend_body(**extra):
    return {
        "name": "Weekend freeze",
        "kind": "deny",
        "enforcement": "hard",
        "time_zone": "Europe/Zurich",
        "start_cron": "0 12 * * 5",
        "end_cron": "0 8 * * 1",
        "message": "Not on weekends.",
        **extra,
    }


def test_manager_creates_a_recurring_window_and_sees_when_it_is_active(managers_api, service):
    with time_machine.travel(datetime(2026, 11, 28, 10, 0, tzinfo=ZURICH), tick=False):
        response = managers_api.post(URL, weekend_body(services=["website"]), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["services"] == ["website"]
    assert body["active_now"] is True
    assert body["next_end"] == "2026-11-30T08:00:00+01:00"
    assert body["next_start"] == "2026-12-04T12:00:00+01:00"
    assert "Friday" in body["rule"]
    window = ReleaseWindow.objects.get()
    assert list(window.services.all()) == [service]


def test_one_off_window(managers_api):
    response = managers_api.post(
        URL,
        {
            "name": "Year-end freeze",
            "starts_at": "2026-12-20T00:00:00+01:00",
            "ends_at": "2027-01-04T08:00:00+01:00",
            "time_zone": "Europe/Zurich",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["services"] == []


def test_holiday_window(managers_api):
    response = managers_api.post(
        URL, {"name": "Holidays", "holiday_country": "ch", "holiday_subdivision": "zh"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert ReleaseWindow.objects.get().holiday_subdivision == "ZH"


@pytest.mark.parametrize(
    "body,field",
    [
        (weekend_body(start_cron="0 25 * * 5"), "start_cron"),
        (weekend_body(end_cron="every monday"), "end_cron"),
        (weekend_body(start_cron="0 12 * * 5 2026"), "start_cron"),
        (weekend_body(time_zone="Mars/Olympus"), "time_zone"),
        (weekend_body(starts_at="2026-12-20T00:00:00Z", ends_at="2026-12-21T00:00:00Z"), "starts_at"),
        ({"name": "Nothing"}, "start_cron"),
        (weekend_body(end_cron=""), "end_cron"),
        ({"name": "Backwards", "starts_at": "2026-12-21T00:00:00Z", "ends_at": "2026-12-20T00:00:00Z"}, "ends_at"),
        ({"name": "Half", "starts_at": "2026-12-21T00:00:00Z"}, "ends_at"),
        (weekend_body(services=["nope"]), "services"),
        (weekend_body(kind="maybe"), "kind"),
        (weekend_body(starts_at="soon"), "starts_at"),
        ({"name": "H", "holiday_country": "XX"}, "holiday_country"),
        ({"name": "H", "holiday_country": "CH", "holiday_subdivision": "QQ"}, "holiday_subdivision"),
        ({"name": "H", "holiday_country": "CH", "kind": "allow"}, "kind"),
        (weekend_body(environments="prod uction"), "environments"),
    ],
)
def test_bad_window_is_400_naming_the_field(managers_api, service, body, field):
    response = managers_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not ReleaseWindow.objects.exists()


def test_partial_update_is_validated_against_the_stored_window(managers_api):
    window = ReleaseWindowFactory()
    response = managers_api.patch(f"{URL}{window.pk}/", {"starts_at": "2026-12-20T00:00:00Z"}, format="json")
    assert response.status_code == 400
    assert "starts_at" in response.json()
    response = managers_api.patch(f"{URL}{window.pk}/", {"end_cron": "0 9 * * 1"}, format="json")
    assert response.status_code == 200
    window.refresh_from_db()
    assert window.end_cron == "0 9 * * 1"


def test_switching_form_by_clearing_the_crons(managers_api):
    window = ReleaseWindowFactory()
    response = managers_api.patch(
        f"{URL}{window.pk}/",
        {"start_cron": "", "end_cron": "", "starts_at": "2026-12-20T00:00:00Z", "ends_at": "2026-12-21T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    window.refresh_from_db()
    assert window.form == "once"


def test_responder_reads_but_cannot_write(api_for, responder):
    ReleaseWindowFactory()
    client = api_for(responder)
    assert client.get(URL).status_code == 200
    assert client.post(URL, weekend_body(), format="json").status_code == 403


def test_manager_deletes_a_window(managers_api):
    window = ReleaseWindowFactory()
    assert managers_api.delete(f"{URL}{window.pk}/").status_code == 204
    assert not ReleaseWindow.objects.exists()


def test_window_list_has_a_constant_number_of_queries(managers_api, django_assert_max_num_queries):
    services = [ServiceFactory() for _ in range(3)]
    ReleaseWindowFactory(services=services)
    with django_assert_max_num_queries(7):  # whether the person sees every team: one query
        assert managers_api.get(URL).status_code == 200
    for n in range(15):
        ReleaseWindowFactory(services=services, start_cron=f"{n} 12 * * 5")
    with django_assert_max_num_queries(7):  # whether the person sees every team: one query
        response = managers_api.get(URL)
    assert response.json()["count"] == 16


def test_a_one_off_window_beyond_the_year_9000_is_refused_by_the_admin_form(client, manager):
    client.force_login(manager)
    response = client.post(
        "/admin/releases/releasewindow/add/",
        {
            "name": "Far",
            "kind": "deny",
            "enforcement": "hard",
            "time_zone": "Europe/Zurich",
            "starts_at_0": "9999-12-30",
            "starts_at_1": "00:00:00",
            "ends_at_0": "9999-12-31",
            "ends_at_1": "23:00:00",
            "enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "Give an instant between the years 1970 and 9000." in response.content.decode()
