"""A severity change carries its reason: on the timeline, in the event, required from a person."""

import pytest
from django.test import Client
from django.utils import translation

from incidents import lifecycle
from incidents.models import IncidentEvent
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def severity_url(incident):
    return f"/api/v1/incidents/{incident.pk}/severity/"


@pytest.mark.parametrize("body", [{"severity": "SEV1"}, {"severity": "SEV1", "reason": "   "}])
def test_the_api_refuses_a_severity_change_without_a_reason(api_for, responder, service, body):
    incident = IncidentFactory(service=service)

    response = api_for(responder).post(severity_url(incident), body, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()
    incident.refresh_from_db()
    assert incident.severity == "SEV2"
    assert not incident.timeline.filter(kind="severity").exists()


def test_the_api_changes_the_severity_with_its_reason_on_the_timeline_and_in_the_event(api_for, responder, service):
    incident = IncidentFactory(service=service)

    response = api_for(responder).post(
        severity_url(incident), {"severity": "SEV1", "reason": "  Checkout is down for everyone  "}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["severity"] == "SEV1"
    entry = incident.timeline.get(kind="severity")
    assert entry.actor == responder
    assert entry.data == {"from": "SEV2", "to": "SEV1", "reason": "Checkout is down for everyone"}
    with translation.override("en"):
        assert entry.text == "Severity changed from SEV2 to SEV1: Checkout is down for everyone"
    with translation.override("fr"):
        assert entry.text == "Gravité modifiée de SEV2 à SEV1 : Checkout is down for everyone"
    event = IncidentEvent.objects.get(incident=incident, kind=IncidentEvent.Kind.SEVERITY_CHANGED)
    assert event.data == {"old": "SEV2", "new": "SEV1", "reason": "Checkout is down for everyone"}
    rows = api_for(responder).get(f"/api/v1/incidents/{incident.pk}/timeline/").json()
    assert rows[-1]["message"] == "Severity changed from SEV2 to SEV1: Checkout is down for everyone"


def test_a_reason_is_at_most_500_characters_at_the_api(api_for, responder, service):
    incident = IncidentFactory(service=service)
    response = api_for(responder).post(severity_url(incident), {"severity": "SEV1", "reason": "x" * 501}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()


def test_managers_may_change_the_severity_and_stakeholders_may_not(api_for, manager, stakeholder, service):
    incident = IncidentFactory(service=service)
    body = {"severity": "SEV3", "reason": "Only the export is slow"}
    assert api_for(stakeholder).post(severity_url(incident), body, format="json").status_code == 403
    assert api_for(manager).post(severity_url(incident), body, format="json").status_code == 200
    incident.refresh_from_db()
    assert incident.severity == "SEV3"


def test_the_reason_is_one_line_of_at_most_500_characters(service):
    incident = IncidentFactory(service=service)
    lifecycle.change_severity(incident, severity="SEV1", reason="first line\nsecond line " + "y" * 600)
    reason = incident.timeline.get(kind="severity").params["reason"]
    assert reason.startswith("first line second line y")
    assert len(reason) == lifecycle.MAX_REASON


def test_a_change_without_reason_says_so_without_one(service):
    incident = IncidentFactory(service=service)
    lifecycle.change_severity(incident, severity="SEV4", actor_name="Monitoring")
    entry = incident.timeline.get(kind="severity")
    assert entry.text == "Severity changed from SEV2 to SEV4"
    assert entry.data["reason"] == ""


def test_the_admin_severity_form_requires_a_reason(responder, service):
    client = Client()
    client.force_login(responder)
    incident = IncidentFactory(service=service)
    url = f"/admin/incidents/incident/{incident.pk}/severity/"

    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert 'name="change-reason"' in page

    refused = client.post(url, {"change-severity": "SEV1", "change-reason": " "}, follow=True)
    assert "Say why the severity changes." in refused.content.decode()
    incident.refresh_from_db()
    assert incident.severity == "SEV2"

    done = client.post(url, {"change-severity": "SEV1", "change-reason": "Payments fail too"}, follow=True)
    incident.refresh_from_db()
    assert incident.severity == "SEV1"
    assert "Severity changed from SEV2 to SEV1: Payments fail too" in done.content.decode()
    assert incident.timeline.get(kind="severity").data["reason"] == "Payments fail too"
