"""/healthz says when Piquet cannot page, and the admin dashboard shows who was not paged."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from incidents.models import Notification
from project.models import Heartbeat
from rotations.models import EscalationPolicy, EscalationStep
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def beating():
    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now()})


@pytest.fixture
def paged_service(service):
    alice = UserFactory(username="alice", email="alice@example.com")
    policy = EscalationPolicy.objects.create(name="Website")
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(alice)
    service.escalation_policy = policy
    service.save()
    return service


def test_healthy_when_a_worker_beats_and_everything_was_paged(client, beating):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["problems"] == []


def test_no_worker_heartbeat_answers_503_with_the_reason(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no worker has reported" in response.json()["problems"][0]

    Heartbeat.objects.create(name="worker", at=timezone.now() - dt.timedelta(minutes=5))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no worker heartbeat for 300 s" in response.json()["problems"][0]


def test_an_incident_nobody_was_paged_for_answers_503_and_shows_in_red(client, paged_service, manager):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        incident = IncidentFactory(service=paged_service)  # no worker ran: no page attempt
        Heartbeat.objects.update_or_create(name="worker", defaults={"at": start})
        assert client.get("/healthz").status_code == 200  # within the minute
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now()})
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["unpaged_incidents"] == [incident.number]
        client.force_login(manager)
        page = client.get("/admin/").content.decode()
        assert "Nobody was paged for these triggered incidents" in page
        assert f"#{incident.number} {incident.title}" in page


def test_a_page_attempt_clears_the_alarm_even_when_it_failed(client, paged_service, beating):
    incident = IncidentFactory(service=paged_service)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=False):
        Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now()})
        assert client.get("/healthz").status_code == 503
        from incidents import escalation

        escalation.advance(incident.escalation.pk)
        Notification.objects.filter(incident=incident).update(attempts=1, status="failed")
        assert client.get("/healthz").status_code == 200


def test_a_message_stuck_in_sending_answers_503(client, paged_service, beating):
    from incidents import escalation

    incident = IncidentFactory(service=paged_service)
    escalation.advance(incident.escalation.pk)
    Notification.objects.filter(incident=incident).update(
        status="sending", attempts=1, claimed_at=timezone.now() - dt.timedelta(minutes=10)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["stuck_messages"]["pages"] == 1
    assert "1 pages stuck in sending" in " ".join(response.json()["problems"])
