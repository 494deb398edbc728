"""Alerts written by a clumsy or hostile client still page, with one-line headers, or are refused with a 400."""

import email
import json
from email import policy

import pytest

from incidents.models import Alert, Incident
from people.models import ContactMethod
from rotations.models import EscalationPolicy, EscalationStep
from tests.factories import UserFactory


@pytest.fixture
def paged_by_email(service, smtp_server):
    alice = UserFactory(username="alice", email="alice@example.com")
    ContactMethod.objects.create(user=alice, kind="email", address="alice@example.com")
    policy = EscalationPolicy.objects.create(name="Website")
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(alice)
    service.escalation_policy = policy
    service.save()
    return smtp_server


def trigger(client, integration, **payload):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "payload": {"source": "probe", "severity": "critical", **payload},
    }
    return client.post("/v2/enqueue", body, content_type="application/json")


def test_a_newline_in_the_summary_still_pages_by_email_with_a_one_line_subject(
    client, integration, paged_by_email, run_tasks
):
    summary = "Disk full\nsee runbook\r\nBcc: victim@example.com"
    with run_tasks():
        assert trigger(client, integration, summary=summary).status_code == 202

    incident = Incident.objects.get()
    assert incident.title == "Disk full see runbook Bcc: victim@example.com"
    assert Alert.objects.get().payload["payload"]["summary"] == summary  # the raw text is kept
    assert len(paged_by_email.messages) == 1
    message = email.message_from_string(paged_by_email.messages[0]["data"], policy=policy.default)
    assert "Disk full see runbook" in message["Subject"]
    assert "\n" not in message["Subject"]
    assert paged_by_email.messages[0]["to"] == ["alice@example.com"]
    assert message["Bcc"] is None
    assert incident.notifications.get().status == "sent"


def test_a_very_long_summary_gives_a_capped_subject(client, integration, paged_by_email, run_tasks):
    with run_tasks():
        assert trigger(client, integration, summary="x" * 1000).status_code == 202
    subject = email.message_from_string(paged_by_email.messages[0]["data"], policy=policy.default)["Subject"]
    assert len(subject.strip()) <= 200 and subject.endswith("…")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"summary": "a\ud800b"}, "surrogate"),
        ({"summary": "Down", "timestamp": "9999-12-31T23:59:59-23:59"}, "timestamp"),
        ({"summary": "Down", "timestamp": "1893-12-31T23:59:59Z"}, "timestamp"),
        ({"summary": "Down", "severity": {"a": 1}}, "severity"),
        ({"summary": "Down", "severity": ["critical"]}, "severity"),
    ],
)
def test_hostile_values_are_refused_with_a_400_that_says_why(client, integration, payload, field):
    response = trigger(client, integration, **payload)
    assert response.status_code == 400, response.content
    assert field in str(response.json()).lower()
    assert not Incident.objects.exists() and not Alert.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b'{"routing_key": "k", "event_action": "trigger", "x": 1e400}', b"[" * 100_000 + b"]" * 100_000],
)
def test_numbers_out_of_range_and_deep_nesting_are_refused(client, integration, body):
    response = client.post("/v2/enqueue", body, content_type="application/json")
    assert response.status_code in (400, 413)
    assert response.json()["status"] == "invalid event"


def test_a_chunked_body_without_content_length_is_read_with_the_size_limit(integration, settings):
    import io

    from django.test import RequestFactory

    from incidents.api.ingest_views import EventsV2View

    body = json.dumps(
        {
            "routing_key": integration.key,
            "event_action": "trigger",
            "payload": {"summary": "Chunked", "source": "probe", "severity": "info"},
        }
    ).encode()

    def post(data):
        # What gunicorn hands Django for "Transfer-Encoding: chunked": no CONTENT_LENGTH, the stream de-chunked.
        request = RequestFactory().generic("POST", "/v2/enqueue", b"", content_type="application/json")
        request.META.pop("CONTENT_LENGTH", None)
        request.META.update(
            {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True, "wsgi.input": io.BytesIO(data)}
        )
        return EventsV2View.as_view()(request)

    assert post(body).status_code == 202
    assert Incident.objects.get().title == "Chunked"
    settings.PIQUET_MAX_EVENT_BYTES = 100
    assert post(body).status_code == 413


def test_an_integration_may_cap_its_events_per_minute_and_says_when_to_retry(client, integration):
    integration.max_events_per_minute = 3
    integration.save()
    answers = [trigger(client, integration, summary=f"Down {n}").status_code for n in range(4)]
    assert answers == [202, 202, 202, 429]
    refused = trigger(client, integration, summary="Down again")
    assert refused.status_code == 429 and int(refused["Retry-After"]) <= 60
    assert "at most 3 events a minute" in refused.json()["message"]
    assert Incident.objects.count() == 3
