import pytest
from django.core.exceptions import ValidationError

from incidents import lifecycle, opening
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
    assert entry.data == {"from": "SEV3", "to": "SEV1", "reason": ""}
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


def test_a_new_incident_writes_its_escalation_and_its_event_in_its_own_transaction(
    service, django_capture_on_commit_callbacks, monkeypatch
):
    from django_q.conf import Conf

    from incidents.models import Escalation, IncidentEvent
    from rotations.models import EscalationPolicy

    service.escalation_policy = EscalationPolicy.objects.create(name="Website on call")
    service.save()
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        incident = IncidentFactory(service=service)
    # What the incident starts is in the database with it: a lost enqueue cannot lose it.
    escalation = Escalation.objects.get(incident=incident)
    assert escalation.next_at == incident.created_at
    assert list(IncidentEvent.objects.filter(incident=incident).values_list("kind", "done_at")) == [("triggered", None)]
    if Conf.ORM:
        # The database's own queue: the task row is written in the incident's transaction.
        assert calls == [("incidents.tasks.advance_escalation", escalation.pk)]
        assert callbacks == []
    else:
        assert calls == []  # nothing leaves before the commit
        for callback in callbacks:
            callback()
        assert calls == [("incidents.tasks.advance_escalation", escalation.pk)]


@pytest.mark.skipif("not __import__('django_q.conf').conf.Conf.ORM", reason="the ORM broker's queue table")
def test_with_the_database_queue_a_rolled_back_incident_leaves_no_task_and_a_committed_one_leaves_one(service):
    from django.db import transaction
    from django_q.models import OrmQ

    from rotations.models import EscalationPolicy

    service.escalation_policy = EscalationPolicy.objects.create(name="Website on call")
    service.save()
    with pytest.raises(RuntimeError), transaction.atomic():
        IncidentFactory(service=service)
        raise RuntimeError("the request failed after the incident was written")
    assert not OrmQ.objects.exists()
    IncidentFactory(service=service)
    assert [task.func() for task in OrmQ.objects.all()] == ["incidents.tasks.advance_escalation"]


def test_an_incident_without_a_policy_has_no_escalation_but_its_event(service):
    from incidents.models import Escalation, IncidentEvent

    incident = IncidentFactory(service=service)
    assert not Escalation.objects.filter(incident=incident).exists()
    assert IncidentEvent.objects.filter(incident=incident, kind="triggered").count() == 1


def test_a_new_incident_is_numbered_even_without_a_counter_row_and_before_its_row_is_written(service):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from incidents.models import Escalation, IncidentCounter, IncidentEvent
    from rotations.models import EscalationPolicy

    service.escalation_policy = EscalationPolicy.objects.create(name="Website on call")
    service.save()
    IncidentCounter.objects.all().delete()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        first, created = opening.open_or_join(
            service=service, dedup_key="one", title="Disk full", severity="SEV2", look_first=False
        )
    assert created and first.number == 1 and IncidentCounter.objects.get(pk=1).value == 1
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        second, _created = opening.open_or_join(
            service=service, dedup_key="two", title="Disk full", severity="SEV2", look_first=False
        )
    assert second.number == 2
    second.refresh_from_db()
    assert second.number == 2
    # The number, then the incident with it; then its timeline entries, escalation and event: no UPDATE of it.
    assert not [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "incidents_incident"')]
    if connection.vendor == "postgresql":
        statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        assert len(statements) == 3, statements
    assert Escalation.objects.filter(incident=second).count() == 1
    assert IncidentEvent.objects.filter(incident=second).count() == 1
    assert TimelineEntry.objects.filter(incident=second).count() == 2


def test_a_trigger_that_finds_its_key_taken_joins_and_takes_no_number(service):
    from django.db import transaction

    from incidents.models import IncidentCounter

    first = IncidentFactory(service=service, dedup_key="disk")
    with transaction.atomic():
        # As a creator that raced another: the key's open incident exists, the lookup was skipped.
        joined, created = opening.open_or_join(
            service=service, dedup_key="disk", title="Disk full", severity="SEV2", look_first=False
        )
    assert (joined.pk, created) == (first.pk, False)
    assert IncidentCounter.objects.get(pk=1).value == first.number
    assert IncidentFactory(service=service).number == first.number + 1


def test_a_new_incident_built_before_its_transaction_joins_one_opened_meanwhile_and_writes_none_of_its_rows(service):
    from django.db import transaction

    from incidents.models import Escalation, IncidentEvent
    from rotations.models import EscalationPolicy

    service.escalation_policy = EscalationPolicy.objects.create(name="Website on call")
    service.save()
    new = opening.NewIncident(service=service, dedup_key="disk", title="Disk full", severity="SEV2", alert_count=1)
    assert new.incident.pk is None and not TimelineEntry.objects.exists()  # built, nothing written
    first = IncidentFactory(service=service, dedup_key="disk")  # another request opened it in the meantime
    written = (TimelineEntry.objects.count(), Escalation.objects.count(), IncidentEvent.objects.count())
    with transaction.atomic():
        joined, created = opening.open_or_join(new, look_first=False)
    assert (joined.pk, created) == (first.pk, False)
    assert (TimelineEntry.objects.count(), Escalation.objects.count(), IncidentEvent.objects.count()) == written
    lifecycle.resolve(first, actor_name="test")
    new = opening.NewIncident(service=service, dedup_key="disk", title="Disk full", severity="SEV2", alert_count=1)
    with transaction.atomic():
        opened, created = opening.open_or_join(new, look_first=False)
    assert created and opened.pk != first.pk and opened.number == first.number + 1
    assert list(opened.timeline.values_list("kind", flat=True)) == ["triggered", "escalation"]
    assert Escalation.objects.get(incident=opened).next_at == opened.created_at
    assert IncidentEvent.objects.filter(incident=opened, kind="triggered").count() == 1


def test_a_declared_incident_writes_what_it_starts_with_and_its_number_together(service):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents.models import Escalation, IncidentEvent
    from rotations.models import EscalationPolicy

    service.escalation_policy = EscalationPolicy.objects.create(name="Website on call")
    service.save()
    before = IncidentFactory(service=service).number
    with CaptureQueriesContext(connection) as queries:
        declared = lifecycle.declare(service=service, title="By hand", by=None)
    declared.refresh_from_db()
    assert declared.number == before + 1
    assert list(declared.timeline.values_list("kind", flat=True)) == ["declared", "escalation"]
    assert Escalation.objects.filter(incident=declared).count() == 1
    assert IncidentEvent.objects.filter(incident=declared, kind="triggered").count() == 1
    if connection.vendor == "postgresql":
        # The incident; then its timeline entries, escalation, event and number in one statement.
        writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "WITH", "UPDATE"))]
        assert len(writes) == 2, writes
