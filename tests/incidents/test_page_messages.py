"""A page tells the responder what the alert says: summary, severity, service, source, the first details, the
links it carried, how to acknowledge and where the incident is. SMS stays short."""

import email
import json
from email import policy
from urllib.parse import parse_qs

import pytest
from apprise.plugins.twilio import NotifyTwilio

from incidents.messages import MAX_DETAILS, SMS_LENGTH
from incidents.models import Incident
from people.models import ContactMethod, NotificationRule
from rotations.models import EscalationPolicy, EscalationStep
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RUNBOOK = "https://runbooks.example.com/disk-full"
DASHBOARD = "https://grafana.example.com/d/abc?var-host=db1"


def reach(user, kind, address):
    method = ContactMethod.objects.create(user=user, kind=kind, address=address)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)
    return method


@pytest.fixture
def alice(service):
    alice = UserFactory(username="alice", email="alice@example.com")
    policy_ = EscalationPolicy.objects.create(name="Website")
    EscalationStep.objects.create(policy=policy_, position=0, escalate_after_minutes=5).users.add(alice)
    service.escalation_policy = policy_
    service.save()
    return alice


def trigger(client, integration, summary="Disk full on db1", **extra):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "payload": {
            "summary": summary,
            "source": "db1.example.com",
            "severity": "critical",
            "custom_details": {
                "host": "db1",
                "mount": "/var/lib/postgresql",
                "used": "99%",
                "runbook": RUNBOOK,
                "trap": "javascript:alert(document.cookie)",
            },
        },
        "links": [{"href": DASHBOARD, "text": "Dashboard"}, {"href": "javascript:alert(1)", "text": "Bad"}],
        **extra,
    }
    response = client.post("/v2/enqueue", body, content_type="application/json")
    assert response.status_code == 202, response.content
    return Incident.objects.get()


def page_email(client, integration, alice, smtp_server, run_tasks, **kwargs):
    reach(alice, "email", "alice@example.com")
    with run_tasks():
        incident = trigger(client, integration, **kwargs)
    [mail] = smtp_server.messages
    return incident, email.message_from_string(mail["data"], policy=policy.default)


def test_page_email_carries_source_details_links_and_both_links(
    client, integration, alice, smtp_server, run_tasks, settings
):
    incident, message = page_email(client, integration, alice, smtp_server, run_tasks)
    body = message.get_content()
    assert "Disk full on db1" in message["Subject"]
    assert "Summary: Disk full on db1" in body
    assert f"Severity: {incident.severity}" in body
    assert f"Service: {incident.service.name}" in body
    assert "Source: db1.example.com" in body
    assert "host: db1" in body and "mount: /var/lib/postgresql" in body and "used: 99%" in body
    links = body.split("Links:", 1)[1].split("\n\n", 1)[0]
    assert RUNBOOK in links and DASHBOARD in links
    assert "/ack/" in body and settings.PIQUET_BASE_URL in body
    assert f"Open the incident: {settings.PIQUET_BASE_URL}/admin/incidents/incident/{incident.pk}/change/" in body


def test_a_javascript_url_in_the_details_is_not_offered_as_a_link(
    client, integration, alice, smtp_server, http_receiver, run_tasks
):
    reach(alice, "webhook", http_receiver.url + "/alice")
    _incident, message = page_email(client, integration, alice, smtp_server, run_tasks)
    links = message.get_content().split("Links:", 1)[1].split("\n\n", 1)[0]
    assert "javascript:" not in links
    event = json.loads(http_receiver.requests[0]["body"])
    assert event["links"] == [DASHBOARD, RUNBOOK]


def test_webhook_page_carries_source_details_and_the_admin_link(
    client, integration, alice, http_receiver, run_tasks, settings
):
    reach(alice, "webhook", http_receiver.url + "/alice")
    with run_tasks():
        incident = trigger(client, integration)
    [request] = http_receiver.requests
    event = json.loads(request["body"])
    assert event["event"] == "incident.page"
    assert event["source"] == "db1.example.com"
    assert event["details"]["host"] == "db1" and event["details"]["runbook"] == RUNBOOK
    assert event["admin_url"] == incident.url
    assert event["admin_url"].startswith(settings.PIQUET_BASE_URL + "/admin/")
    assert "/ack/" in event["acknowledge_url"]


def test_details_are_limited_in_number_and_length(client, integration, alice, http_receiver, run_tasks):
    reach(alice, "webhook", http_receiver.url + "/alice")
    many = {f"field{n:02}": "v" * 5000 for n in range(50)}
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "payload": {"summary": "Many", "source": "probe", "severity": "warning", "custom_details": many},
    }
    with run_tasks():
        assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    details = json.loads(http_receiver.requests[0]["body"])["details"]
    assert len(details) == MAX_DETAILS
    assert all(len(value) <= 200 for value in details.values())


def test_alertmanager_page_shows_labels_annotations_and_the_generator_link(
    client, am_integration, alice, smtp_server, run_tasks
):
    reach(alice, "email", "alice@example.com")
    generator = "http://prometheus.example.com/graph?g0.expr=up"
    alert = {
        "status": "firing",
        "labels": {"alertname": "InstanceDown", "instance": "web1:9100", "severity": "critical"},
        "annotations": {"summary": "web1 is down", "runbook_url": RUNBOOK},
        "startsAt": "2026-01-01T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": generator,
        "fingerprint": "abc123",
    }
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="InstanceDown"}',
        "status": "firing",
        "receiver": "piquet",
        "groupLabels": {"alertname": "InstanceDown"},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.example.com",
        "alerts": [alert],
    }
    with run_tasks():
        response = client.post(am_integration.alertmanager_url, body, content_type="application/json")
        assert response.status_code in (200, 202), response.content
    content = email.message_from_string(smtp_server.messages[0]["data"], policy=policy.default).get_content()
    assert "instance: web1:9100" in content and "alertname: InstanceDown" in content
    assert f"Source: {generator}" in content
    links = content.split("Links:", 1)[1].split("\n\n", 1)[0]
    assert RUNBOOK in links and generator in links


def test_sms_page_stays_short_with_the_acknowledge_instruction(
    client, integration, alice, http_receiver, run_tasks, settings, monkeypatch
):
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "t" * 32
    settings.TWILIO_FROM_NUMBER = "+41445550000"
    monkeypatch.setattr(NotifyTwilio, "notify_sms_url", http_receiver.url + "/2010-04-01/Accounts/{sid}/Messages.json")
    reach(alice, "sms", "+41791234567")
    with run_tasks():
        trigger(client, integration, summary="Disk full on db1 " + "and more " * 100)
    [request] = http_receiver.requests
    text = parse_qs(request["body"].decode())["Body"][0]
    assert len(text) <= SMS_LENGTH
    assert "Acknowledge: " in text and "/ack/" in text
    assert "Disk full on db1" in text
    assert "host: db1" not in text and "Links:" not in text


def test_a_hostile_newline_in_the_summary_keeps_the_subject_one_line(
    client, integration, alice, smtp_server, run_tasks
):
    _incident, message = page_email(
        client, integration, alice, smtp_server, run_tasks, summary="Disk full\r\nBcc: victim@example.com"
    )
    assert "\n" not in message["Subject"] and "Disk full" in message["Subject"]
    assert message["Bcc"] is None
    assert "Summary: Disk full Bcc: victim@example.com" in message.get_content()
