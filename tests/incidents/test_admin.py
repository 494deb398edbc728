import pytest
from django.test import Client

from incidents import lifecycle
from incidents.models import Incident, Integration
from tests.factories import IncidentFactory, IntegrationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_changelist_shows_incidents_with_constant_queries(responder, service, django_assert_max_num_queries):
    client = logged_in(responder)
    for _ in range(3):
        lifecycle.acknowledge(IncidentFactory(service=service), by=responder)
    with django_assert_max_num_queries(30) as few:
        response = client.get("/admin/incidents/incident/")
    assert response.status_code == 200
    for _ in range(30):
        lifecycle.acknowledge(IncidentFactory(service=ServiceFactory()), by=responder)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/admin/incidents/incident/")
    body = response.content.decode()
    assert body.count('class="field-number_display"') == 33
    assert "SEV2" in body


def test_changelist_filters_and_searches(responder, service):
    client = logged_in(responder)
    a = IncidentFactory(service=service, title="Database on fire", dedup_key="db-fire")
    IncidentFactory(service=service, title="Disk almost full")
    lifecycle.resolve(a, by=responder)
    assert "Database on fire" not in client.get("/admin/incidents/incident/?status__exact=triggered").content.decode()
    assert "Database on fire" in client.get("/admin/incidents/incident/?q=db-fire").content.decode()
    assert "Database on fire" in client.get(f"/admin/incidents/incident/?q={a.number}").content.decode()


def test_acknowledge_and_resolve_buttons_call_the_lifecycle(responder, service):
    client = logged_in(responder)
    incident = IncidentFactory(service=service)
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert 'name="acknowledge"' in page and 'name="resolve"' in page
    response = client.post(f"/admin/incidents/incident/{incident.pk}/acknowledge/")
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert incident.acknowledged_by == responder
    client.post(f"/admin/incidents/incident/{incident.pk}/resolve/")
    response = client.post(f"/admin/incidents/incident/{incident.pk}/resolve/", follow=True)
    assert "already resolved" in response.content.decode()
    assert incident.timeline.filter(kind="resolved").count() == 1


def test_buttons_refuse_get_and_users_without_the_role(stakeholder, responder, service):
    incident = IncidentFactory(service=service)
    assert logged_in(responder).get(f"/admin/incidents/incident/{incident.pk}/acknowledge/").status_code == 405
    assert logged_in(stakeholder).post(f"/admin/incidents/incident/{incident.pk}/acknowledge/").status_code == 403
    page = logged_in(stakeholder).get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert 'name="acknowledge"' not in page
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_note_form_adds_to_the_timeline_shown_in_order(responder, service, integration):
    client = logged_in(responder)
    incident = IncidentFactory(service=service)
    client.post(f"/admin/incidents/incident/{incident.pk}/acknowledge/")
    client.post(f"/admin/incidents/incident/{incident.pk}/note/", {"message": "Restarted <b>web-1</b>"})
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert timeline.index("Acknowledged") < timeline.index("Restarted &lt;b&gt;web-1&lt;/b&gt;")
    response = client.post(f"/admin/incidents/incident/{incident.pk}/note/", {"message": ""}, follow=True)
    assert "This field is required" in response.content.decode()


def test_incident_page_pretty_prints_the_alert_payload(client, responder, integration):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "payload": {"summary": "Down", "source": "probe", "severity": "error", "custom_details": {"region": "eu"}},
    }
    client.post("/v2/enqueue", body, content_type="application/json")
    incident = Incident.objects.get()
    page = logged_in(responder).get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert "&quot;region&quot;: &quot;eu&quot;" in page
    assert "routing_key" not in page


def test_bulk_actions_acknowledge_and_resolve(responder, service):
    client = logged_in(responder)
    incidents = [IncidentFactory(service=service) for _ in range(3)]
    lifecycle.resolve(incidents[0], by=responder)
    ids = [i.pk for i in incidents]
    response = client.post(
        "/admin/incidents/incident/", {"action": "acknowledge_selected", "_selected_action": ids}, follow=True
    )
    assert "2 incident(s) acknowledged." in response.content.decode()
    assert "already resolved" in response.content.decode()
    client.post("/admin/incidents/incident/", {"action": "resolve_selected", "_selected_action": ids[1:]})
    assert Incident.objects.filter(status="resolved").count() == 3


def test_lifecycle_fields_are_read_only_on_the_change_form(responder, service):
    client = logged_in(responder)
    incident = IncidentFactory(service=service)
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert 'name="status"' not in page
    assert 'name="severity"' not in page
    client.post(
        f"/admin/incidents/incident/{incident.pk}/change/",
        {"title": "Renamed", "description": "", "status": "resolved"},
    )
    incident.refresh_from_db()
    assert incident.title == "Renamed"
    assert incident.status == "triggered"


def test_declaring_through_the_admin_goes_through_the_lifecycle(responder, service):
    client = logged_in(responder)
    response = client.post(
        "/admin/incidents/incident/add/",
        {"service": service.pk, "title": "Payments down", "description": "", "severity": "SEV1"},
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.number >= 1
    assert incident.timeline.get().kind == "declared"


def test_service_page_shows_integration_keys_and_urls(manager, service):
    integration = IntegrationFactory(service=service, kind=Integration.Kind.ALERTMANAGER)
    page = logged_in(manager).get(f"/admin/incidents/service/{service.pk}/change/").content.decode()
    assert integration.key in page
    assert f"/api/v1/integrations/{integration.key}/alertmanager/" in page


def test_regenerate_key_action(manager, integration):
    old = integration.key
    response = logged_in(manager).post(
        "/admin/incidents/integration/",
        {"action": "regenerate_keys", "_selected_action": [integration.pk]},
        follow=True,
    )
    assert "1 key regenerated" in response.content.decode()
    integration.refresh_from_db()
    assert integration.key != old and len(integration.key) == 32


def test_responders_cannot_edit_services(responder, service):
    response = logged_in(responder).post(
        f"/admin/incidents/service/{service.pk}/change/", {"name": "Hacked", "slug": "website"}
    )
    assert response.status_code == 403


def test_service_changelist_constant_queries(manager, django_assert_max_num_queries):
    client = logged_in(manager)
    for _ in range(2):
        IntegrationFactory()
    with django_assert_max_num_queries(20) as few:
        client.get("/admin/incidents/service/")
    for _ in range(15):
        IncidentFactory(service=IntegrationFactory().service)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/admin/incidents/service/")
