"""The worker composes what follows an incident event across the apps, each follower apart from the others."""

import datetime as dt

import time_machine
from django.utils import timezone

from incidents import events
from incidents.models import IncidentEvent, TimelineEntry
from tests.conftest import run_follow_ups
from tests.factories import IncidentFactory
from worker import followups

CALLS = []


def record(event):
    CALLS.append(event.pk)


def fail(event):
    raise RuntimeError("stakeholder mail down")


def test_one_failing_follower_does_not_keep_the_others_from_running(service):
    CALLS.clear()
    incident = IncidentFactory(service=service)
    event = IncidentEvent.objects.get(incident=incident)

    assert events.run(event.pk, [fail, record]) is False

    assert [event.pk] == CALLS
    event.refresh_from_db()
    assert event.done_at is None and event.attempts == 1
    assert "stakeholder mail down" in event.error
    assert event.due_at > timezone.now()  # tried again later


def test_a_follower_failing_every_attempt_is_written_on_the_timeline_once(service):
    incident = IncidentFactory(service=service)
    event = IncidentEvent.objects.get(incident=incident)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _attempt in range(events.MAX_ATTEMPTS):
            events.run(event.pk, [fail])
            clock.shift(dt.timedelta(minutes=10))
        assert events.run(event.pk, [fail]) is False  # done: never run again

    event.refresh_from_db()
    assert event.done_at is not None and event.attempts == events.MAX_ATTEMPTS
    entries = TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.FOLLOW_UP)
    assert entries.count() == 1
    assert "stakeholder mail down" in entries.get().text


def test_an_event_runs_once_even_when_handed_out_twice(service, monkeypatch):
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    incident = IncidentFactory(service=service)
    event = IncidentEvent.objects.get(incident=incident)

    assert run_follow_ups() == 1
    assert followups.follow_up(event.pk) is False  # already done
    assert followups.hand_out() == 0
    event.refresh_from_db()
    assert event.done_at is not None and event.attempts == 1


def test_every_event_kind_has_followers():
    assert set(followups.FOLLOWERS) == set(IncidentEvent.Kind.values)
