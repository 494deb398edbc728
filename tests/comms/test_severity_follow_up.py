"""Changing an incident's severity from the API or the admin: the stakeholder follow-ups run through the worker."""

from comms.models import StatusUpdate, UpdateCadence
from incidents.models import IncidentEvent, TimelineEntry
from tests.factories import IncidentFactory

RAISE = {"severity": "SEV1", "reason": "Checkout fails for everyone"}
ADMIN_RAISE = {"change-severity": "SEV1", "change-reason": "Checkout fails for everyone"}


def test_raising_the_severity_through_the_api_tells_stakeholders(api_for, responder, customers, claire, run_tasks):
    with run_tasks():
        incident = IncidentFactory(service=customers.services.get(), severity="SEV4")
    assert not StatusUpdate.objects.filter(incident=incident).exists()

    with run_tasks():
        response = api_for(responder).post(
            f"/api/v1/incidents/{incident.pk}/severity/", {"severity": "SEV1", "reason": "Checkout fails for everyone"}
        )

    assert response.status_code == 200, response.content
    assert response.json()["severity"] == "SEV1"
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineEntry.Kind.SEVERITY)
    assert entry.actor == responder and entry.data == {
        "from": "SEV4",
        "to": "SEV1",
        "reason": "Checkout fails for everyone",
    }
    assert IncidentEvent.objects.get(incident=incident, kind="severity_changed").done_at is not None
    assert StatusUpdate.objects.get(incident=incident).kind == StatusUpdate.Kind.NOTICE
    assert UpdateCadence.objects.get(incident=incident).severity == "SEV1"


def test_severity_change_needs_the_right_to_work_incidents_and_a_known_severity(api_for, stakeholder, responder):
    incident = IncidentFactory()
    url = f"/api/v1/incidents/{incident.pk}/severity/"
    assert api_for(stakeholder).post(url, RAISE).status_code == 403
    refused = api_for(responder).post(url, {"severity": "SEV9"})
    assert refused.status_code == 400 and "severity" in refused.json()
    incident.refresh_from_db()
    assert incident.severity == "SEV2"


def test_the_incident_page_changes_the_severity(client, responder, run_tasks):
    incident = IncidentFactory(severity="SEV3")
    client.force_login(responder)
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert b'name="change-severity"' in page.content

    with run_tasks():
        response = client.post(
            f"/admin/incidents/incident/{incident.pk}/severity/",
            {"change-severity": "SEV1", "change-reason": "Checkout fails for everyone"},
        )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.severity == "SEV1"
    assert TimelineEntry.objects.filter(incident=incident, kind="severity", actor=responder).exists()
