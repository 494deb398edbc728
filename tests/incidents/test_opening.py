"""incidents.opening: on PostgreSQL a new incident, its rows and its number are one statement, or nothing."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from incidents import opening
from incidents.models import DedupAlias, Escalation, Incident, IncidentCounter, IncidentEvent, TimelineEntry
from rotations.models import EscalationPolicy
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def _new_disk_incident(service):
    service.escalation_policy, _ = EscalationPolicy.objects.get_or_create(name="Website on call")
    service.save()
    return opening.NewIncident(service=service, dedup_key="disk", title="Disk full", severity="SEV2", alert_count=1)


def _written():
    counter = IncidentCounter.objects.filter(pk=1).values_list("value", flat=True).first()
    tables = (Incident, TimelineEntry, Escalation, IncidentEvent)
    return [model.objects.count() for model in tables] + [counter]


def test_on_postgresql_a_new_incident_its_rows_and_its_number_are_one_statement(service):
    new, before = _new_disk_incident(service), IncidentFactory(service=service).number
    written = _written()
    opening.services_with_aliases()  # read every few seconds, not now
    with CaptureQueriesContext(connection) as queries:
        opened = opening.open_at_once(new)
    if connection.vendor != "postgresql":  # SQLite writes it in its own transaction: see open_or_join
        assert opened is None and _written() == written
        return
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 1, statements
    assert opened.number == before + 1
    opened.refresh_from_db()
    assert (opened.number, opened.dedup_key, opened.alert_count) == (before + 1, "disk", 1)
    assert list(opened.timeline.values_list("kind", flat=True)) == ["triggered", "escalation"]
    assert Escalation.objects.get(incident=opened).next_at == opened.created_at
    assert IncidentEvent.objects.filter(incident=opened, kind="triggered").count() == 1


def test_on_postgresql_a_new_incident_whose_key_is_taken_writes_nothing_and_takes_no_number(service):
    new = _new_disk_incident(service)
    first = IncidentFactory(service=service, dedup_key="disk")  # another request opened it in the meantime
    written = _written()
    assert opening.open_at_once(new) is None
    assert _written() == written and new.incident.pk is None
    with transaction.atomic():
        joined, created = opening.open_or_join(new, look_first=False)
    assert (joined.pk, created) == (first.pk, False)
    assert IncidentFactory(service=service).number == first.number + 1


def test_on_postgresql_a_new_incident_is_numbered_without_a_counter_row(service):
    IncidentCounter.objects.all().delete()
    opened = opening.open_at_once(_new_disk_incident(service))
    if connection.vendor == "postgresql":
        opened.refresh_from_db()
        assert opened.number == 1 and IncidentCounter.objects.get(pk=1).value == 1
    else:
        assert opened is None


def test_a_new_incident_of_a_service_with_merged_keys_is_not_written_at_once(service):
    DedupAlias.objects.create(service=service, dedup_key="old", incident=IncidentFactory(service=service))
    written = _written()
    assert opening.open_at_once(_new_disk_incident(service)) is None
    assert _written() == written


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_new_incident_is_one_statement_and_a_taken_key_writes_nothing(service):
    IncidentCounter.objects.all().delete()  # the first number also makes the counter's row
    new = _new_disk_incident(service)
    opening.services_with_aliases()  # read every few seconds, not now
    with CaptureQueriesContext(connection) as queries:
        opened = opening.open_at_once(new)
    if connection.vendor != "postgresql":
        assert opened is None
        return
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["WITH"]  # no BEGIN, no COMMIT
    assert Incident.objects.get(pk=opened.pk).number == opened.number == 1
    assert Escalation.objects.filter(incident=opened).exists()
    written = _written()
    assert opening.open_at_once(_new_disk_incident(service)) is None  # the open incident holds the key
    assert _written() == written and IncidentCounter.objects.get(pk=1).value == 1
