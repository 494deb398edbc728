import pytest
from django.core.exceptions import ValidationError

from incidents import lifecycle
from incidents.models import TimelineEntry
from tests.factories import IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_numbers_are_sequential_across_services(service):
    first = IncidentFactory(service=service)
    second = IncidentFactory(service=ServiceFactory())
    third = lifecycle.declare(service=service, title="By hand", by=None)
    assert [second.number - first.number, third.number - second.number] == [1, 1]


def test_acknowledge_twice_writes_one_entry(responder, service):
    incident = IncidentFactory(service=service)
    lifecycle.acknowledge(incident, by=responder)
    lifecycle.acknowledge(incident, by=responder)
    assert incident.timeline.filter(kind="acknowledged").count() == 1


def test_resolved_incident_cannot_be_acknowledged_or_resolved_again(responder, service):
    incident = IncidentFactory(service=service)
    lifecycle.resolve(incident, by=responder)
    with pytest.raises(lifecycle.TransitionError):
        lifecycle.acknowledge(incident, by=responder)
    with pytest.raises(lifecycle.TransitionError):
        lifecycle.resolve(incident, by=responder)


def test_change_severity_is_on_the_timeline(responder, service):
    incident = IncidentFactory(service=service, severity="SEV3")
    incident = lifecycle.change_severity(incident, severity="SEV1", by=responder)
    assert incident.severity == "SEV1"
    entry = incident.timeline.get(kind="severity")
    assert entry.data == {"from": "SEV3", "to": "SEV1"}
    with pytest.raises(ValueError):
        lifecycle.change_severity(incident, severity="SEV7", by=responder)


def test_timeline_entries_cannot_be_rewritten(service):
    entry = IncidentFactory(service=service).timeline.get()
    entry.message = "rewritten history"
    with pytest.raises(ValidationError):
        entry.save()
    assert TimelineEntry.objects.get(pk=entry.pk).message != "rewritten history"


def test_empty_or_huge_notes_are_refused(responder, service):
    incident = IncidentFactory(service=service)
    with pytest.raises(ValueError):
        lifecycle.add_note(incident, by=responder, message="  ")
    with pytest.raises(ValueError):
        lifecycle.add_note(incident, by=responder, message="x" * 10_001)


def test_one_follow_up_task_is_enqueued_after_commit(service, django_capture_on_commit_callbacks, monkeypatch):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        incident = IncidentFactory(service=service)
    assert calls == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert calls == [("incidents.tasks.incident_triggered", incident.pk)]


def record_call(incident_id):
    CALLS.append(incident_id)


def fail_call(incident_id):
    raise RuntimeError("follow-up down")


CALLS = []


def test_the_follow_up_task_runs_every_hook_even_when_one_fails(service, settings):
    from incidents.tasks import incident_triggered

    CALLS.clear()
    settings.PIQUET_ON_INCIDENT_TRIGGERED = [f"{__name__}.fail_call", f"{__name__}.record_call"]
    incident = IncidentFactory(service=service)
    with pytest.raises(RuntimeError, match="follow-up down"):
        incident_triggered(incident.pk)
    assert [incident.pk] == CALLS
