"""A service's status page fields in the API and the admin; a public status change is recorded with who made it."""

import pytest
from django.test import Client

from incidents.models import PublicStatus, Service, ServiceStatusChange, SeverityDefinition

pytestmark = pytest.mark.django_db


def test_the_service_json_has_the_public_fields(api_for, responder, service):
    data = api_for(responder).get(f"/api/v1/services/{service.pk}/").json()
    assert data["public_name"] == "" and data["public_description"] == ""
    assert data["public_status"] == "operational"
    assert data["auto_publish"] is False


def test_a_manager_patches_the_public_status_and_the_change_is_recorded(api_for, manager, service):
    response = api_for(manager).patch(
        f"/api/v1/services/{service.pk}/",
        {"public_status": "partial_outage", "public_name": "Online shop"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["public_status"] == "partial_outage"
    service.refresh_from_db()
    assert service.public_status == PublicStatus.PARTIAL_OUTAGE
    assert service.public_name == "Online shop"
    change = ServiceStatusChange.objects.get(service=service)
    assert change.status == PublicStatus.PARTIAL_OUTAGE and change.by == manager

    # The same status again is no change.
    again = api_for(manager).patch(
        f"/api/v1/services/{service.pk}/", {"public_status": "partial_outage"}, format="json"
    )
    assert again.status_code == 200
    assert ServiceStatusChange.objects.filter(service=service).count() == 1


def test_a_responder_may_not_edit_a_service(api_for, responder, service):
    response = api_for(responder).patch(
        f"/api/v1/services/{service.pk}/", {"public_status": "major_outage"}, format="json"
    )
    assert response.status_code == 403
    service.refresh_from_db()
    assert service.public_status == PublicStatus.OPERATIONAL
    assert not ServiceStatusChange.objects.exists()


def test_an_unknown_public_status_is_400_naming_the_field(api_for, manager, service):
    response = api_for(manager).patch(f"/api/v1/services/{service.pk}/", {"public_status": "on_fire"}, format="json")
    assert response.status_code == 400
    assert "public_status" in response.json()
    assert not ServiceStatusChange.objects.exists()


def test_a_service_created_with_a_public_status_records_it(api_for, manager):
    response = api_for(manager).post(
        "/api/v1/services/",
        {"name": "Shop", "slug": "shop", "public_status": "under_maintenance", "auto_publish": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    service = Service.objects.get(slug="shop")
    assert service.public_status == PublicStatus.UNDER_MAINTENANCE and service.auto_publish
    assert ServiceStatusChange.objects.get(service=service).by == manager


def service_form(service, **changes):
    data = {
        "name": service.name,
        "slug": service.slug,
        "description": service.description,
        "escalation_policy": "",
        "public_name": service.public_name,
        "public_description": service.public_description,
        "public_status": service.public_status,
        "integrations-TOTAL_FORMS": "0",
        "integrations-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_the_service_admin_has_a_status_page_fieldset_and_records_a_status_change(manager, service):
    client = Client()
    client.force_login(manager)
    url = f"/admin/incidents/service/{service.pk}/change/"

    page = client.get(url).content.decode()
    assert "Status page" in page
    for field in ("public_name", "public_description", "public_status", "auto_publish"):
        assert f'name="{field}"' in page
        assert str(Service._meta.get_field(field).help_text).split("'")[0] in page

    response = client.post(url, service_form(service, public_status="major_outage", public_description="Buy things"))
    assert response.status_code == 302, response.content.decode()[:2000]
    service.refresh_from_db()
    assert service.public_status == PublicStatus.MAJOR_OUTAGE
    assert service.public_description == "Buy things"
    change = ServiceStatusChange.objects.get(service=service)
    assert change.status == PublicStatus.MAJOR_OUTAGE and change.by == manager

    # Saving without changing the status records nothing more.
    client.post(url, service_form(service, public_name="Shop"))
    service.refresh_from_db()
    assert service.public_name == "Shop"
    assert ServiceStatusChange.objects.filter(service=service).count() == 1

    listing = client.get("/admin/incidents/service/").content.decode()
    assert "Major outage" in listing


def test_the_severity_definition_form_has_the_public_impact(manager):
    definition, _created = SeverityDefinition.objects.update_or_create(
        severity="SEV3", defaults={"description": "Slow", "public_impact": "Slowness"}
    )
    client = Client()
    client.force_login(manager)
    page = client.get(f"/admin/incidents/severitydefinition/{definition.pk}/change/").content.decode()
    assert 'name="public_impact"' in page and 'value="Slowness"' in page


def test_the_severity_list_shows_built_in_descriptions_in_the_reader_s_language(manager):
    built_in = SeverityDefinition.default("SEV1")
    SeverityDefinition.objects.update_or_create(severity="SEV1", defaults={"description": built_in.description})
    SeverityDefinition.objects.update_or_create(severity="SEV4", defaults={"description": "Written by us"})
    client = Client()
    client.force_login(manager)
    page = client.get("/admin/incidents/severitydefinition/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert built_in.description not in page
    assert "SEV1 : le site est en panne pour tout le monde." in page
    assert "Written by us" in page
