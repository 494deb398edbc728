"""Bad input a client can send to the DRF endpoints and the admin answers 4xx with a message, never 5xx."""

import json

import pytest

from rotations.models import Schedule
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def api(api_for, manager):
    client = api_for(manager)
    client.raise_request_exception = False
    return client


def raw(api, method, url, body):
    return getattr(api, method)(url, data=body, content_type="application/json")


@pytest.mark.parametrize("body", [DEEP, '{"name": 1e400}', '{"name": "a\\ud800b"}', '{"name": NaN}'])
def test_bodies_that_cannot_be_stored_are_refused_with_a_400(api, body):
    for url in ("/api/v1/services/", "/api/v1/schedules/", "/api/v1/escalation-policies/", "/api/v1/incidents/"):
        response = raw(api, "post", url, body)
        assert response.status_code == 400, (url, response.status_code, response.content[:200])
        assert "detail" in response.json()


def test_deleting_a_service_that_has_incidents_is_a_409(api, service):
    IncidentFactory(service=service)
    response = api.delete(f"/api/v1/services/{service.pk}/")
    assert response.status_code == 409
    assert "incidents" in response.json()["detail"]


def test_patching_a_group_with_a_subscriber_without_kind_is_a_400(api):
    group = api.post("/api/v1/stakeholder-groups/", {"name": "Customers"}, format="json").json()
    response = api.patch(
        f"/api/v1/stakeholder-groups/{group['id']}/", {"subscribers": [{"address": "a@example.com"}]}, format="json"
    )
    assert response.status_code == 400
    assert "kind" in json.dumps(response.json())


def test_a_policy_target_id_beyond_64_bits_is_a_400(api, manager):
    body = {"name": "P", "steps": [{"escalate_after_minutes": 5, "targets": [{"type": "user", "id": 2**70}]}]}
    response = api.post("/api/v1/escalation-policies/", body, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("instant", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59"])
def test_instants_out_of_range_in_queries_are_a_400(api, instant):
    schedule = Schedule.objects.create(name="S", time_zone="Europe/Zurich")
    for url in (
        f"/api/v1/schedules/{schedule.pk}/oncall/?at={instant}",
        f"/api/v1/schedules/{schedule.pk}/shifts/?start={instant}&end=2026-12-02T00:00:00Z",
        f"/api/v1/oncall/?at={instant}",
        f"/api/v1/incidents/?created_after={instant}",
    ):
        response = api.get(url.replace("+", "%2B"))
        assert response.status_code == 400, (url, response.status_code, response.content[:200])


@pytest.mark.parametrize("week", ["9999-12-31", "0001-01-01", "nonsense"])
def test_the_week_view_explains_a_week_out_of_range(client, manager, week):
    client.force_login(manager)
    response = client.get(f"/admin/releases/releasewindow/week/?week={week}")
    assert response.status_code == 200
    assert "The week must" in response.content.decode()
