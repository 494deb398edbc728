"""The update cadence with time frozen and moved by hand: reminders, the commander told, the final prompt."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from comms import cadence, status_updates
from comms.models import Delivery, UpdateCadence
from incidents import lifecycle, roles
from incidents.models import Page, SeverityDefinition, TimelineEntry
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 27, 18, 40, tzinfo=dt.UTC)


@pytest.fixture
def at(run_tasks):
    """Run the ticker at T0 + minutes, with tasks run in-process."""

    def tick(minutes):
        with time_machine.travel(T0 + dt.timedelta(minutes=minutes), tick=False), run_tasks():
            return cadence.tick()

    return tick


@pytest.fixture
def incident(service, run_tasks, responder, teammate):
    """A SEV1 (an update every 30 minutes) triggered at T0, Rita on communications, Théo commanding."""
    with time_machine.travel(T0, tick=False):
        incident = IncidentFactory(service=service, severity="SEV1", title="Checkout answers 502")
        with run_tasks():
            status_updates.first_notice(incident.pk)
            roles.assign(incident, role="communications", user=responder)
            roles.assign(incident, role="commander", user=teammate)
    mail.outbox.clear()
    return incident


def reminders(incident):
    return [entry.text for entry in TimelineEntry.objects.filter(incident=incident, kind="update_reminder")]


def inbox():
    return [(m.to[0], m.subject) for m in mail.outbox]


def test_reminder_after_the_interval_then_a_second_and_the_commander_told(incident, at, responder, teammate):
    at(29)
    assert reminders(incident) == []
    assert mail.outbox == []

    at(30)
    assert reminders(incident) == [
        "Stakeholder update overdue since 20:10: reminded Rita Responder (communications lead)."
    ]
    assert inbox() == [(responder.email, f"[Piquet] #{incident.number}: a stakeholder update is due")]

    at(31)
    at(45)
    assert len(reminders(incident)) == 1
    assert len(mail.outbox) == 1

    at(60)
    assert reminders(incident)[1:] == [
        "Stakeholder update still overdue since 20:10: reminded Rita Responder (communications lead) again.",
        "Commander Théo Teammate told that stakeholders still wait for an update.",
    ]
    assert inbox()[1:] == [
        (responder.email, f"[Piquet] #{incident.number}: a stakeholder update is due"),
        (teammate.email, f"[Piquet] #{incident.number}: stakeholders still wait for an update"),
    ]
    assert "Rita Responder was reminded twice" in mail.outbox[2].body

    at(90)
    at(300)
    assert len(reminders(incident)) == 3
    assert len(mail.outbox) == 3


def test_no_reminder_after_a_timely_update(incident, at, responder):
    with time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False):
        status_updates.post(incident, phase="identified", message="Found it.", by=responder)
    at(30)
    at(49)
    assert reminders(incident) == []
    at(50)
    assert len(reminders(incident)) == 1


def test_an_update_with_its_own_next_update_time_sets_the_deadline(incident, at, responder):
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        status_updates.post(
            incident,
            phase="monitoring",
            message="Watching.",
            by=responder,
            next_update_at=T0 + dt.timedelta(minutes=120),
        )
    at(119)
    assert reminders(incident) == []
    at(120)
    assert len(reminders(incident)) == 1


def test_no_reminder_after_resolve_but_one_prompt_for_the_final_update(incident, at, responder):
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        lifecycle.resolve(incident, by=responder)
    at(11)
    at(12)
    at(30)
    at(60)
    assert reminders(incident) == [
        "Resolved: post a final update for stakeholders. Asked Rita Responder.",
    ]
    assert inbox() == [(responder.email, f"[Piquet] #{incident.number} is resolved: post the final update")]


def test_no_final_prompt_when_the_final_update_was_posted(incident, at, responder):
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        status_updates.post(incident, phase="resolved", message="All good again.", by=responder)
        lifecycle.resolve(incident, by=responder)
    at(11)
    at(60)
    assert reminders(incident) == []
    assert UpdateCadence.objects.get(incident=incident).closed_at is not None


def test_without_roles_the_people_paged_last_are_reminded(service, at, run_tasks):
    with time_machine.travel(T0, tick=False):
        incident = IncidentFactory(service=service, severity="SEV2")
        status_updates.first_notice(incident.pk)
    first, second = UserFactory(username="first"), UserFactory(username="second", first_name="Sec", last_name="Ond")
    Page.objects.create(incident=incident, round=0, step=0, user=first)
    Page.objects.create(incident=incident, round=0, step=1, user=second)

    at(60)

    assert reminders(incident) == ["Stakeholder update overdue since 20:40: reminded Sec Ond (paged)."]
    assert [m.to for m in mail.outbox] == [[second.email]]


def test_nobody_to_remind_is_said_on_the_timeline(service, at):
    with time_machine.travel(T0, tick=False):
        incident = IncidentFactory(service=service, severity="SEV1")
        status_updates.first_notice(incident.pk)
    at(30)
    assert reminders(incident) == ["Stakeholder update overdue since 20:10, and nobody to remind: assign a commander."]


def test_the_severity_cadence_is_editable(service, at):
    SeverityDefinition.objects.filter(severity="SEV2").update(update_cadence_minutes=15)
    with time_machine.travel(T0, tick=False):
        incident = IncidentFactory(service=service, severity="SEV2")
        status_updates.first_notice(incident.pk)
    at(14)
    assert reminders(incident) == []
    at(15)
    assert len(reminders(incident)) == 1


def test_a_severity_without_cadence_never_reminds(service, at):
    with time_machine.travel(T0, tick=False):
        incident = IncidentFactory(service=service, severity="SEV4")
        status_updates.first_notice(incident.pk)
    for minutes in (30, 60, 240, 1000):
        at(minutes)
    assert reminders(incident) == []


def test_two_tickers_at_once_remind_once(incident, run_tasks):
    with time_machine.travel(T0 + dt.timedelta(minutes=30), tick=False), run_tasks():
        cadence.tick()
        cadence.tick()
    assert len(reminders(incident)) == 1
    assert Delivery.objects.filter(purpose=Delivery.Purpose.REMINDER).count() == 1


def test_raising_the_severity_tells_stakeholders_and_shortens_the_cadence(service, at, run_tasks, responder):
    from comms.models import StatusUpdate

    with time_machine.travel(T0, tick=False):
        incident = IncidentFactory(service=service, severity="SEV4")
        status_updates.first_notice(incident.pk)
    at(5)
    assert not StatusUpdate.objects.filter(incident=incident).exists()

    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        lifecycle.change_severity(incident, severity="SEV1", by=responder)
    at(10)
    notice = StatusUpdate.objects.get(incident=incident)
    assert notice.kind == StatusUpdate.Kind.NOTICE
    assert notice.next_update_at == T0 + dt.timedelta(minutes=40)
    at(11)
    assert StatusUpdate.objects.filter(incident=incident).count() == 1
    at(39)
    assert reminders(incident) == []
    at(40)
    assert len(reminders(incident)) == 1


def test_lowering_the_severity_keeps_the_promised_update_and_then_stops_the_cadence(incident, at, responder):
    # The first notice promised an update by T0 + 30 min; the incident is then found to be cosmetic.
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        lifecycle.change_severity(incident, severity="SEV4", reason="Only the footer is wrong", by=responder)
    at(11)
    assert reminders(incident) == []
    at(30)
    assert len(reminders(incident)) == 1  # the stakeholders still get the update they were promised
    with time_machine.travel(T0 + dt.timedelta(minutes=32), tick=False):
        status_updates.post(incident, phase="monitoring", message="Cosmetic only; fixed tomorrow.", by=responder)
    at(200)
    assert len(reminders(incident)) == 1  # SEV4 has no cadence: nobody is chased any more
    assert UpdateCadence.objects.get(incident=incident).due_at is None
