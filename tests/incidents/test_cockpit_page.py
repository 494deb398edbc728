"""The incident page as a responder's console: what to act on first, the alert readable and safe, the record kept."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from incidents import lifecycle
from incidents.models import Incident
from people.models import Profile
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

RUNBOOK = "https://runbooks.example.com/checkout?step=1&lang=en"


def logged_in(user, **headers):
    client = Client(**headers)
    client.force_login(user)
    return client


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def timeline_url(incident):
    return reverse("admin:incidents_incident_timeline", args=[incident.pk])


@pytest.fixture
def alerted(client, integration):
    """An incident opened by a real Events API v2 event whose details hold a link, a trap and some HTML."""
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": "checkout-502",
        "payload": {
            "summary": "Checkout answers 502",
            "source": "https://grafana.example.com/d/checkout",
            "severity": "critical",
            "custom_details": {
                "runbook": RUNBOOK,
                "trap": "javascript:alert(document.cookie)",
                "data_url": "data:text/html,<script>alert(1)</script>",
                "html": "<img src=x onerror=alert(1)>",
                "region": "eu-west",
                "replicas": {"ready": 1, "wanted": 3},
            },
        },
        "links": [{"href": "https://status.example.com/", "text": "Status board"}],
    }
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    return Incident.objects.get(dedup_key="checkout-502")


def alert_part(html):
    return html[html.index('id="alert-details"') : html.index('id="timeline"')]


def test_the_runbook_url_of_the_alert_is_a_link_above_the_timeline(responder, alerted):
    html = logged_in(responder).get(change_url(alerted)).content.decode()

    link = '<a href="https://runbooks.example.com/checkout?step=1&amp;lang=en" rel="noopener noreferrer"'
    assert link in html
    assert html.index(link) < html.index('id="timeline"')
    details = alert_part(html)
    assert "<dt>runbook</dt>" in details and "<dt>region</dt><dd>eu-west</dd>" in details
    assert "Checkout answers 502" in details
    assert '<a href="https://grafana.example.com/d/checkout"' in details
    assert '<dt>Status board</dt><dd><a href="https://status.example.com/"' in details


def test_only_web_urls_become_links_and_everything_is_escaped(responder, alerted):
    html = logged_in(responder).get(change_url(alerted)).content.decode()
    details = alert_part(html)

    assert "<dt>trap</dt><dd>javascript:alert(document.cookie)</dd>" in details
    assert 'href="javascript:' not in html and 'href="data:' not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in details
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in details
    assert "<dt>replicas</dt><dd>{&quot;ready&quot;: 1, &quot;wanted&quot;: 3}</dd>" in details


def test_the_raw_json_stays_behind_a_toggle(responder, alerted):
    html = logged_in(responder).get(change_url(alerted)).content.decode()

    raw = re.search(r'<details class="raw-alert">(.*?)</details>', html, re.S)
    assert raw, "the raw alert is inside <details>"
    assert "&quot;runbook&quot;: &quot;https://runbooks.example.com/checkout?step=1&amp;lang=en&quot;" in raw.group(1)
    assert "routing_key" not in html


def test_alertmanager_labels_and_annotations_are_listed(client, responder, am_integration):
    alert = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-1"},
        "annotations": {"summary": "Disk full on db-1", "runbook_url": "https://runbooks.example.com/disk"},
        "startsAt": "2026-12-01T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "abc",
    }
    body = {"version": "4", "groupKey": '{}:{alertname="DiskFull"}', "status": "firing", "alerts": [alert]}
    url = f"/api/v1/integrations/{am_integration.key}/alertmanager/"
    assert client.post(url, body, content_type="application/json").status_code in (200, 202)
    incident = Incident.objects.get()

    details = alert_part(logged_in(responder).get(change_url(incident)).content.decode())

    assert "<h3>Annotations</h3>" in details and "<h3>Labels</h3>" in details
    assert '<dt>runbook_url</dt><dd><a href="https://runbooks.example.com/disk"' in details
    assert "<dt>instance</dt><dd>db-1</dd>" in details


def test_the_page_leads_with_the_incident_and_its_buttons(responder, service):
    incident = IncidentFactory(service=service, title="Search is slow")
    html = logged_in(responder).get(change_url(incident)).content.decode()

    assert f"<h1>Incident #{incident.number}</h1>" in html
    assert "Change incident" not in html
    summary = html[html.index('id="incident-summary"') : html.index('id="alert-details"')]
    for shown in ("SEV2", "Triggered", "Website", 'name="acknowledge"', 'name="resolve"', "just now"):
        assert shown in summary


def test_a_responder_has_neither_delete_nor_save_buttons_only_the_lifecycle(responder, service):
    incident = IncidentFactory(service=service)
    client = logged_in(responder)
    html = client.get(change_url(incident)).content.decode()

    assert "deletelink" not in html
    assert 'name="_addanother"' not in html and 'name="_continue"' not in html
    assert 'value="Save"' not in html
    assert 'name="acknowledge"' in html
    delete = reverse("admin:incidents_incident_delete", args=[incident.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_a_manager_may_not_delete_incidents_either(manager, service):
    incident = IncidentFactory(service=service)
    client = logged_in(manager)
    assert "deletelink" not in client.get(change_url(incident)).content.decode()
    assert (
        client.post(reverse("admin:incidents_incident_delete", args=[incident.pk]), {"post": "yes"}).status_code == 403
    )


def test_a_superuser_may_delete_an_incident(service):
    root = UserFactory(username="root", is_superuser=True)
    incident = IncidentFactory(service=service)
    client = logged_in(root)
    assert "deletelink" in client.get(change_url(incident)).content.decode()
    response = client.post(reverse("admin:incidents_incident_delete", args=[incident.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Incident.objects.filter(pk=incident.pk).exists()


def test_declaring_an_incident_keeps_its_save_button(responder, service):
    html = logged_in(responder).get(reverse("admin:incidents_incident_add")).content.decode()
    assert 'name="_save"' in html


def test_acknowledged_by_names_the_person_not_their_username(responder, service):
    incident = IncidentFactory(service=service)
    lifecycle.acknowledge(incident, by=responder)
    html = logged_in(responder).get(change_url(incident)).content.decode()

    field = re.search(r'field-acknowledged_by_name.*?<div class="readonly">(.*?)</div>', html, re.S)
    assert field and field.group(1) == "Rita Responder"
    summary = html[html.index('id="incident-summary"') : html.index('id="alert-details"')]
    assert "<dt>Held by</dt><dd>Rita Responder</dd>" in summary
    assert "rita" not in summary


def test_the_timeline_kinds_are_in_the_readers_language(responder, service):
    incident = IncidentFactory(service=service)
    lifecycle.acknowledge(incident, by=responder)
    Profile.objects.create(user=responder, language="de")
    html = logged_in(responder, HTTP_ACCEPT_LANGUAGE="de").get(change_url(incident)).content.decode()

    timeline = html[html.index('id="timeline-entries"') :]
    assert '<span class="kind">Bestätigt</span>' in timeline
    assert '<span class="kind">Ausgelöst</span>' in timeline
    assert '<span class="actor">Rita Responder:</span>' in timeline


def test_the_timeline_is_oldest_first_or_newest_first_by_a_toggle_in_the_url(responder, service):
    incident = IncidentFactory(service=service)
    lifecycle.acknowledge(incident, by=responder)
    lifecycle.add_note(incident, by=responder, message="Rolled back")
    client = logged_in(responder)

    def kinds(html):
        return re.findall(r'<li class="timeline-(\w+)">', html)

    oldest = client.get(change_url(incident)).content.decode()
    newest = client.get(change_url(incident), {"timeline": "newest"}).content.decode()
    assert kinds(oldest) == ["triggered", "acknowledged", "note"]
    assert kinds(newest) == ["note", "acknowledged", "triggered"]
    assert 'href="?timeline=newest#timeline"' in oldest
    assert f'data-piquet-refresh-url="{timeline_url(incident)}?timeline=newest"' in newest


def test_the_timeline_refreshes_from_its_fragment_url(responder, service):
    incident = IncidentFactory(service=service)
    client = logged_in(responder)
    page = client.get(change_url(incident)).content.decode()
    assert (
        f'<div id="timeline-entries" data-piquet-refresh="15" data-piquet-refresh-url="{timeline_url(incident)}' in page
    )
    assert '<script src="/static/incidents/cockpit.js" defer></script>' in page

    lifecycle.add_note(incident, by=responder, message="Watching the error rate")
    fragment = client.get(timeline_url(incident), {"timeline": "newest"})

    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="timeline-entries"')
    assert re.findall(r'<li class="timeline-(\w+)">', html) == ["note", "triggered"]
    assert "Watching the error rate" in html and "<html" not in html


def test_the_timeline_fragment_is_refused_to_who_may_not_see_the_incident(stakeholder, responder, service):
    incident = IncidentFactory(service=service)
    nobody = UserFactory(username="nora", first_name="Nora", last_name="Nobody")  # staff, no role

    assert logged_in(nobody).get(timeline_url(incident)).status_code == 403
    anonymous = Client().get(timeline_url(incident))
    assert anonymous.status_code == 302 and reverse("admin:login") in anonymous["Location"]
    assert logged_in(stakeholder).get(timeline_url(incident)).status_code == 200
    missing = reverse("admin:incidents_incident_timeline", args=[incident.pk + 1000])
    assert logged_in(responder).get(missing).status_code == 404


def test_working_the_incident_keeps_the_chosen_timeline_order(responder, service):
    incident = IncidentFactory(service=service)
    client = logged_in(responder)
    page = client.get(change_url(incident), {"timeline": "newest"}).content.decode()
    note = reverse("admin:incidents_incident_note", args=[incident.pk])
    assert f'action="{note}?timeline=newest"' in page

    response = client.post(f"{note}?timeline=newest", {"message": "Restarted web-1"})

    assert response["Location"] == change_url(incident) + "?timeline=newest#timeline"
    oldest = client.post(note, {"message": "Again"})
    assert oldest["Location"] == change_url(incident)
