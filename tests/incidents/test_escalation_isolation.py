"""One broken target never stops a step, one failing step never stops the chain."""

import datetime as dt

import pytest
import time_machine

from incidents import escalation
from incidents.models import Escalation, Incident, Notification, Page
from people.models import ContactMethod, NotificationRule
from rotations.models import EscalationPolicy, EscalationStep, Layer
from tests.factories import UserFactory
from tests.rotations.factories import LayerFactory, ScheduleFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 27, 18, 40, tzinfo=dt.UTC)


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", email="alice@example.com")


@pytest.fixture
def carl(db):
    return UserFactory(username="carl", first_name="Carl", email="carl@example.com")


def chain(service, *steps):
    """A policy whose steps target (users, schedules) pairs; every step waits 5 minutes."""
    policy = EscalationPolicy.objects.create(name="Website")
    for position, (users, schedules) in enumerate(steps):
        step = EscalationStep.objects.create(policy=policy, position=position, escalate_after_minutes=5)
        step.users.add(*users)
        step.schedules.add(*schedules)
    service.escalation_policy = policy
    service.save()
    return policy


def trigger(client, integration, run_tasks):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "payload": {"summary": "Website is down", "source": "probe", "severity": "critical"},
    }
    with run_tasks():
        assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    return Incident.objects.get()


def paged(incident):
    return sorted((p.step, p.user.username) for p in Page.objects.filter(incident=incident))


def timeline(incident):
    return " | ".join(entry.text for entry in incident.timeline.all())


def test_a_schedule_that_cannot_be_computed_still_lets_the_step_page_its_other_target(
    client, integration, service, run_tasks, alice, carl
):
    broken = ScheduleFactory(name="Broken")
    # A layer written before lengths were bounded: its shifts overflow every date computation.
    LayerFactory(schedule=broken, shift_length=3_000_000, shift_unit=Layer.Unit.DAYS, participants=[carl])
    chain(service, ([alice], [broken]))
    with time_machine.travel(T0, tick=False):
        incident = trigger(client, integration, run_tasks)

    assert paged(incident) == [(0, "alice")]
    assert Notification.objects.get(incident=incident).status == "sent"
    assert f"Could not tell who is on call for schedule #{broken.pk}" in timeline(incident)


def test_a_person_deleted_during_the_escalation_is_named_on_the_timeline(
    client, integration, service, run_tasks, alice, carl
):
    chain(service, ([alice], []), ([carl], []))
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        carl_id = carl.pk
        carl.delete()  # the running chain still names Carl (its snapshot)
        clock.move_to(T0 + dt.timedelta(minutes=5))
        with run_tasks():
            escalation.tick()

    assert paged(incident) == [(0, "alice")]
    assert f"Step 2 (round 1): Person #{carl_id} of this step no longer exists." in timeline(incident)
    assert "has nobody to page; moving on" in timeline(incident)


def test_when_every_contact_method_of_a_step_fails_the_next_step_fires_at_once(
    client, integration, service, run_tasks, alice, carl, http_receiver
):
    http_receiver.status = 500
    hook = ContactMethod.objects.create(user=alice, kind="webhook", address=http_receiver.url + "/alice")
    NotificationRule.objects.create(user=alice, contact_method=hook, delay_minutes=0)
    chain(service, ([alice], []), ([carl], []))
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        for seconds in (10, 40):  # the two retries
            clock.move_to(T0 + dt.timedelta(seconds=seconds))
            with run_tasks():
                escalation.tick()
        assert Notification.objects.get(contact_method=hook).status == "failed"
        with run_tasks():
            escalation.tick()  # the escalation is due now, not 5 minutes after the page

    assert paged(incident) == [(0, "alice"), (1, "carl")]
    assert "Every contact method of step 1 (round 1) failed; escalating now." in timeline(incident)


def test_a_step_that_raises_is_retried_in_a_minute_not_in_a_loop(service, alice, monkeypatch):
    from incidents import tasks
    from tests.factories import IncidentFactory

    chain(service, ([alice], []))
    incident = IncidentFactory(service=service)

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(escalation, "resolve_targets", boom)
    tasks.advance_escalation(incident.escalation.pk)

    chain_row = Escalation.objects.get(incident=incident)
    assert chain_row.next_at > incident.created_at + dt.timedelta(seconds=50)
    assert "trying again in a minute" in timeline(incident)
