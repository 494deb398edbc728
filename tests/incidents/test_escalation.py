"""The call chain, step by step, with time frozen and moved by hand."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from incidents import escalation, lifecycle
from incidents.models import Escalation, Incident, Notification, Page
from people.models import ContactMethod, NotificationRule, Profile
from rotations.models import EscalationPolicy, EscalationStep, Layer, Schedule
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 27, 18, 40, tzinfo=dt.UTC)


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Martin", email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", first_name="Bob", last_name="Keller", email="bob@example.com")


@pytest.fixture
def platform(bob):
    schedule = Schedule.objects.create(name="Platform", time_zone="Europe/Zurich")
    layer = Layer.objects.create(
        schedule=schedule, name="Weekly", rotation_start=T0 - dt.timedelta(days=3), shift_unit="weeks"
    )
    layer.set_participants([bob])
    return schedule


@pytest.fixture
def policy(alice, platform, service):
    policy = EscalationPolicy.objects.create(name="Website", repeat=1)
    first = EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5)
    first.users.add(alice)
    second = EscalationStep.objects.create(policy=policy, position=1, escalate_after_minutes=10)
    second.schedules.add(platform)
    service.escalation_policy = policy
    service.save()
    return policy


def trigger(client, integration, run_tasks, key="down"):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "Website is down", "source": "probe", "severity": "critical"},
    }
    with run_tasks():
        assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    return Incident.objects.get(dedup_key=key)


def tick(run_tasks):
    with run_tasks():
        escalation.tick()


def paged(incident):
    return [(p.round, p.step, p.user.username) for p in Page.objects.filter(incident=incident).order_by("id")]


def test_trigger_pages_step_one_at_once_then_the_chain_climbs_and_repeats(client, integration, policy, run_tasks):
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        assert paged(incident) == [(0, 0, "alice")]
        assert [m.to for m in mail.outbox] == [["alice@example.com"]]
        assert "Website is down" in mail.outbox[0].subject
        chain = Escalation.objects.get(incident=incident)
        assert chain.next_at == T0 + dt.timedelta(minutes=5)

        clock.move_to(T0 + dt.timedelta(minutes=4, seconds=59))
        tick(run_tasks)
        assert len(paged(incident)) == 1

        clock.move_to(T0 + dt.timedelta(minutes=5))
        tick(run_tasks)
        assert paged(incident)[-1] == (0, 1, "bob")  # on call for Platform

        clock.move_to(T0 + dt.timedelta(minutes=15))
        tick(run_tasks)
        assert paged(incident)[-1] == (1, 0, "alice")  # repeat: round 2

        clock.move_to(T0 + dt.timedelta(minutes=20))
        tick(run_tasks)
        clock.move_to(T0 + dt.timedelta(minutes=30))
        tick(run_tasks)
        chain.refresh_from_db()
        assert chain.state == Escalation.State.EXHAUSTED
        assert paged(incident) == [(0, 0, "alice"), (0, 1, "bob"), (1, 0, "alice"), (1, 1, "bob")]
        assert sum("exhausted" in entry.text for entry in incident.timeline.all()) == 1
        assert len(mail.outbox) == 4


def test_running_the_same_step_twice_pages_once(client, integration, policy, run_tasks):
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        chain = Escalation.objects.get(incident=incident)
        clock.move_to(T0 + dt.timedelta(minutes=5))
        with run_tasks():
            escalation.advance(chain.pk)
            escalation.advance(chain.pk)
        tick(run_tasks)
        tick(run_tasks)
        assert paged(incident) == [(0, 0, "alice"), (0, 1, "bob")]
        for notification in Notification.objects.all():
            assert escalation.send(notification.pk) is False
        assert len(mail.outbox) == 2


def test_acknowledge_between_steps_stops_the_chain_and_tells_who_was_paged(
    client, integration, policy, run_tasks, alice
):
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        clock.move_to(T0 + dt.timedelta(minutes=2))
        with run_tasks():
            lifecycle.acknowledge(incident, by=alice)
        clock.move_to(T0 + dt.timedelta(minutes=30))
        tick(run_tasks)
        assert paged(incident) == [(0, 0, "alice")]
        assert Escalation.objects.get(incident=incident).state == Escalation.State.ACKNOWLEDGED
        assert [m.subject for m in mail.outbox][-1].startswith(f"[Piquet] #{incident.number} acknowledged")


def test_paged_person_can_opt_out_of_resolve_notices(client, integration, policy, run_tasks, alice):
    Profile.objects.create(user=alice, notify_on_resolve=False)
    with time_machine.travel(T0, tick=False):
        incident = trigger(client, integration, run_tasks)
        with run_tasks():
            lifecycle.resolve(incident, by=alice)
    pages_and_notices = [m for m in mail.outbox if "post the final update" not in m.subject]
    assert len(pages_and_notices) == 1
    assert not Notification.objects.filter(purpose="resolved").exists()


def test_step_with_nobody_on_call_is_recorded_and_the_chain_moves_on(client, integration, policy, run_tasks, platform):
    platform.layers.all().delete()
    policy.repeat = 0
    policy.save()
    third = EscalationStep.objects.create(policy=policy, position=2, escalate_after_minutes=5)
    third.users.add(UserFactory(username="carol", email="carol@example.com"))
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        clock.move_to(T0 + dt.timedelta(minutes=5))
        tick(run_tasks)
        assert paged(incident) == [(0, 0, "alice"), (0, 2, "carol")]
        assert sum("has nobody to page" in entry.text for entry in incident.timeline.all()) == 1
        chain = Escalation.objects.get(incident=incident)
        assert chain.next_at == T0 + dt.timedelta(minutes=10)


def test_notification_rules_run_from_the_moment_of_the_page(
    client, integration, policy, run_tasks, alice, http_receiver
):
    hook = ContactMethod.objects.create(user=alice, kind="webhook", address=http_receiver.url + "/alice")
    email = ContactMethod.objects.create(user=alice, kind="email", address="alice@phone.example.com")
    NotificationRule.objects.create(user=alice, contact_method=hook, delay_minutes=0)
    NotificationRule.objects.create(user=alice, contact_method=email, delay_minutes=3)
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        assert len(http_receiver.requests) == 1
        assert mail.outbox == []
        clock.move_to(T0 + dt.timedelta(minutes=3))
        tick(run_tasks)
        assert [m.to for m in mail.outbox] == [["alice@phone.example.com"]]
    import json

    body = json.loads(http_receiver.requests[0]["body"])
    assert body["event"] == "incident.page"
    assert body["incident"]["number"] == incident.number
    assert body["user"] == {"id": alice.pk, "username": "alice"}
    assert "/ack/" in body["acknowledge_url"]


def test_policy_edited_mid_escalation_does_not_change_the_running_chain(client, integration, policy, run_tasks, alice):
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        step = policy.steps.get(position=1)
        step.schedules.clear()
        step.users.add(UserFactory(username="dave", email="dave@example.com"))
        clock.move_to(T0 + dt.timedelta(minutes=5))
        tick(run_tasks)
        assert paged(incident)[-1] == (0, 1, "bob")


def test_escalate_now_fires_the_next_step_immediately(client, integration, policy, run_tasks, api_for, responder):
    with time_machine.travel(T0, tick=False):
        incident = trigger(client, integration, run_tasks)
        with run_tasks():
            response = api_for(responder).post(f"/api/v1/incidents/{incident.pk}/escalate/")
        assert response.status_code == 200, response.content
        assert paged(incident) == [(0, 0, "alice"), (0, 1, "bob")]
        assert Escalation.objects.get(incident=incident).next_at == T0 + dt.timedelta(minutes=10)


def test_escalate_after_acknowledge_retriggers_and_pages_the_next_step(client, integration, policy, run_tasks, alice):
    with time_machine.travel(T0, tick=False):
        incident = trigger(client, integration, run_tasks)
        with run_tasks():
            lifecycle.acknowledge(incident, by=alice)
            incident = lifecycle.escalate(incident, by=alice)
        assert incident.status == "triggered"
        assert paged(incident)[-1] == (0, 1, "bob")


def test_escalate_without_policy_or_when_resolved_is_409(api_for, responder, service, integration, client, run_tasks):
    incident = trigger(client, integration, run_tasks)
    response = api_for(responder).post(f"/api/v1/incidents/{incident.pk}/escalate/")
    assert response.status_code == 409
    assert "no escalation policy" in response.json()["detail"]


def test_provider_failure_is_retried_with_backoff_then_failed_without_stopping_others(
    client, integration, policy, run_tasks, alice, http_receiver
):
    http_receiver.status = 503
    hook = ContactMethod.objects.create(user=alice, kind="webhook", address=http_receiver.url + "/down")
    email = ContactMethod.objects.create(user=alice, kind="email", address="alice@example.com")
    NotificationRule.objects.create(user=alice, contact_method=hook, delay_minutes=0)
    NotificationRule.objects.create(user=alice, contact_method=email, delay_minutes=0)
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        failing = Notification.objects.get(contact_method=hook)
        assert (failing.status, failing.attempts) == ("pending", 1)
        assert Notification.objects.get(contact_method=email).status == "sent"
        clock.move_to(T0 + dt.timedelta(seconds=10))
        tick(run_tasks)
        assert Notification.objects.get(pk=failing.pk).attempts == 2
        clock.move_to(T0 + dt.timedelta(seconds=40))
        tick(run_tasks)
        failing.refresh_from_db()
        assert (failing.status, failing.attempts) == ("failed", 3)
        assert "HTTP 503" in failing.response
        assert len(http_receiver.requests) == 3
        # Every attempt names the same message, so a receiver can drop repeats.
        ids = {request["headers"]["X-Piquet-Delivery"] for request in http_receiver.requests}
        assert ids == {f"incidents.notification:{failing.pk}"}
        assert sum("after 3 attempts" in entry.text for entry in incident.timeline.all()) == 1
        clock.move_to(T0 + dt.timedelta(minutes=5))
        tick(run_tasks)
        assert paged(incident)[-1] == (0, 1, "bob")


def test_a_message_whose_worker_died_mid_send_is_sent_again_later(client, integration, policy, run_tasks):
    with time_machine.travel(T0, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        notification = Notification.objects.get(incident=incident)
        Notification.objects.filter(pk=notification.pk).update(status="sending", claimed_at=timezone.now())
        clock.move_to(T0 + dt.timedelta(seconds=119))
        tick(run_tasks)
        assert Notification.objects.get(pk=notification.pk).status == "sending"
        clock.move_to(T0 + dt.timedelta(seconds=121))
        tick(run_tasks)
        assert Notification.objects.get(pk=notification.pk).status == "sent"


def test_a_schedule_target_is_resolved_when_its_step_fires_across_new_york_spring_forward(
    client, integration, service, run_tasks
):
    new_york = ZoneInfo("America/New_York")
    saturday, sunday = (
        UserFactory(username="sat", email="sat@example.com"),
        UserFactory(username="sun", email="sun@example.com"),
    )
    schedule = Schedule.objects.create(name="US", time_zone="America/New_York")
    layer = Layer.objects.create(
        schedule=schedule,
        name="Daily",
        rotation_start=dt.datetime(2026, 3, 7, 9, 0, tzinfo=new_york),
        shift_unit="days",
    )
    layer.set_participants([saturday, sunday])
    policy = EscalationPolicy.objects.create(name="US")
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).schedules.add(schedule)
    EscalationStep.objects.create(policy=policy, position=1, escalate_after_minutes=5).schedules.add(schedule)
    service.escalation_policy = policy
    service.save()
    # Sunday 8 March 2026, 08:58 EDT: the clocks sprang forward at 02:00, Saturday's shift ends at 09:00 EDT.
    start = dt.datetime(2026, 3, 8, 8, 58, tzinfo=new_york)
    with time_machine.travel(start, tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        clock.move_to(start + dt.timedelta(minutes=5))
        tick(run_tasks)
    assert paged(incident) == [(0, 0, "sat"), (0, 1, "sun")]
