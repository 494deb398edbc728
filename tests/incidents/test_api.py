import pytest
from django.utils import timezone

from incidents import lifecycle
from incidents.models import Incident, Integration
from tests.factories import IncidentFactory, IntegrationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_incident_json_has_the_documented_fields(api_for, responder, service):
    incident = IncidentFactory(service=service)
    lifecycle.acknowledge(incident, by=responder)
    data = api_for(responder).get(f"/api/v1/incidents/{incident.pk}/").json()
    expected = {
        "id",
        "number",
        "title",
        "service",
        "severity",
        "status",
        "dedup_key",
        "alert_count",
        "created_at",
        "acknowledged_at",
        "resolved_at",
        "acknowledged_by",
        "resolved_by",
    }
    assert expected <= set(data)
    assert data["service"] == {"id": service.pk, "slug": "website", "name": "Website"}
    assert data["acknowledged_by"]["username"] == "rita"
    assert data["status"] == "acknowledged"


def test_list_filters_by_status_service_severity_and_date(api_for, responder, service):
    other = ServiceFactory(slug="billing")
    a = IncidentFactory(service=service, severity="SEV1")
    b = IncidentFactory(service=other, severity="SEV3")
    lifecycle.resolve(b, by=responder)
    api = api_for(responder)

    def numbers(query):
        response = api.get(f"/api/v1/incidents/?{query}")
        assert response.status_code == 200, response.content
        return {row["number"] for row in response.json()["results"]}

    assert numbers("status=triggered,acknowledged") == {a.number}
    assert numbers("status=resolved") == {b.number}
    assert numbers("service=billing") == {b.number}
    assert numbers(f"service={service.pk}") == {a.number}
    assert numbers("severity=SEV1,SEV2") == {a.number}
    past = (timezone.now() - timezone.timedelta(hours=1)).isoformat()
    assert numbers(f"created_after={past.replace('+', '%2B')}") == {a.number, b.number}


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=open", "status"), ("severity=SEV9", "severity"), ("created_after=yesterday", "created_after")],
)
def test_bad_filters_are_400_naming_the_field(api_for, responder, query, field):
    response = api_for(responder).get(f"/api/v1/incidents/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_incident_list_queries_do_not_grow_with_rows(api_for, responder, service, django_assert_max_num_queries):
    api = api_for(responder)
    for _ in range(3):
        lifecycle.acknowledge(IncidentFactory(service=service), by=responder)
    with django_assert_max_num_queries(7) as few:  # the person's teams: one query
        assert len(api.get("/api/v1/incidents/").json()["results"]) == 3
    for _ in range(20):
        lifecycle.acknowledge(IncidentFactory(service=ServiceFactory()), by=responder)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get("/api/v1/incidents/").json()["results"]) == 23


def test_acknowledge_then_resolve_through_the_api(api_for, responder, service):
    incident = IncidentFactory(service=service)
    api = api_for(responder)
    response = api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")
    assert response.status_code == 200
    assert response.json()["status"] == "acknowledged"
    response = api.post(f"/api/v1/incidents/{incident.pk}/resolve/", {"message": "Rolled back"}, format="json")
    assert response.status_code == 200
    assert response.json()["resolved_by"]["username"] == "rita"
    assert Incident.objects.get().timeline.last().message == "Rolled back"


def test_resolving_twice_or_acknowledging_resolved_is_409(api_for, responder, service):
    incident = IncidentFactory(service=service)
    api = api_for(responder)
    assert api.post(f"/api/v1/incidents/{incident.pk}/resolve/").status_code == 200
    response = api.post(f"/api/v1/incidents/{incident.pk}/resolve/")
    assert response.status_code == 409
    assert "already resolved" in response.json()["detail"]
    assert api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 409
    assert incident.timeline.filter(kind="resolved").count() == 1


def test_timeline_lists_entries_and_accepts_notes(api_for, responder, service):
    incident = IncidentFactory(service=service)
    api = api_for(responder)
    response = api.post(f"/api/v1/incidents/{incident.pk}/timeline/", {"message": "Looking at the DB"}, format="json")
    assert response.status_code == 201
    entries = api.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()
    assert [e["kind"] for e in entries] == ["triggered", "note"]
    assert entries[1]["actor"] == "Rita Responder"
    response = api.post(f"/api/v1/incidents/{incident.pk}/timeline/", {"message": "   "}, format="json")
    assert response.status_code == 400
    assert "message" in response.json()


def test_declare_an_incident_by_hand(api_for, responder, service):
    response = api_for(responder).post(
        "/api/v1/incidents/", {"service": "website", "title": "Checkout slow", "severity": "SEV3"}, format="json"
    )
    assert response.status_code == 201, response.content
    incident = Incident.objects.get()
    assert incident.title == "Checkout slow"
    assert incident.timeline.get().kind == "declared"
    response = api_for(responder).post("/api/v1/incidents/", {"service": "nope", "title": "x"}, format="json")
    assert response.status_code == 400
    assert "service" in response.json()


def test_stakeholders_read_but_cannot_act(api_for, stakeholder, service):
    incident = IncidentFactory(service=service)
    api = api_for(stakeholder)
    assert api.get("/api/v1/incidents/").status_code == 200
    assert api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 403
    assert api.post(f"/api/v1/incidents/{incident.pk}/timeline/", {"message": "hi"}, format="json").status_code == 403
    assert api.post("/api/v1/services/", {"name": "X", "slug": "x"}, format="json").status_code == 403


def test_anonymous_and_roleless_users_are_refused(api_for, outsider, service):
    assert api_for(None).get("/api/v1/incidents/").status_code == 401
    assert api_for(outsider).get("/api/v1/incidents/").status_code == 403


def test_managers_create_services_and_integrations_with_ready_urls(api_for, manager):
    api = api_for(manager)
    response = api.post("/api/v1/services/", {"name": "Shop", "slug": "shop"}, format="json")
    assert response.status_code == 201
    service_id = response.json()["id"]
    response = api.post(
        f"/api/v1/services/{service_id}/integrations/", {"name": "Prometheus", "kind": "alertmanager"}, format="json"
    )
    assert response.status_code == 201
    data = response.json()
    assert len(data["key"]) == 32
    assert data["url"].endswith(f"/api/v1/integrations/{data['key']}/alertmanager/")
    response = api.post(f"/api/v1/services/{service_id}/integrations/{data['id']}/regenerate-key/")
    assert response.status_code == 200
    assert response.json()["key"] != data["key"]
    assert Integration.objects.get().key == response.json()["key"]


def test_responders_cannot_create_services_or_see_other_services_integrations_404(api_for, responder):
    api = api_for(responder)
    assert api.post("/api/v1/services/", {"name": "Shop", "slug": "shop"}, format="json").status_code == 403
    assert api.get("/api/v1/services/999/integrations/").status_code == 404


def test_duplicate_slug_is_400(api_for, manager, service):
    response = api_for(manager).post("/api/v1/services/", {"name": "Other", "slug": "website"}, format="json")
    assert response.status_code == 400
    assert "slug" in response.json()


def test_integration_of_unknown_kind_is_400(api_for, manager, service):
    response = api_for(manager).post(
        f"/api/v1/services/{service.pk}/integrations/", {"name": "X", "kind": "nagios"}, format="json"
    )
    assert response.status_code == 400
    assert "kind" in response.json()


def test_integrations_list_is_scoped_to_the_service(api_for, manager, service):
    IntegrationFactory(service=service)
    IntegrationFactory()
    data = api_for(manager).get(f"/api/v1/services/{service.pk}/integrations/").json()
    assert data["count"] == 1
