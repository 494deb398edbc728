"""project.rows: rows written in one statement get their own keys, and nothing is written by a block that fails."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import IncidentEvent, TimelineEntry
from project import rows
from tests.conftest import require_postgres
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def entry(incident, message):
    return TimelineEntry(incident_id=incident.pk, kind=TimelineEntry.Kind.NOTE, message=message, data={})


def test_rows_of_several_models_written_together_get_their_own_keys_and_then_run_after():
    first, second = IncidentFactory(), IncidentFactory()
    seen = []
    with CaptureQueriesContext(connection) as queries, rows.together():
        notes = rows.insert_soon([entry(first, "a"), entry(second, "b")])
        event = rows.insert_soon([IncidentEvent(incident_id=second.pk, kind="triggered")], then=lambda: seen.append(1))
        later = rows.insert_soon([entry(first, "c")], then=lambda: seen.append(event[0].pk))
        assert [note.pk for note in notes] == [None, None] and seen == []
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    assert seen == [1, event[0].pk]
    for note, incident, message in ((notes[0], first, "a"), (notes[1], second, "b"), (later[0], first, "c")):
        stored = TimelineEntry.objects.get(pk=note.pk)
        assert (stored.incident_id, stored.message) == (incident.pk, message)
    assert IncidentEvent.objects.get(pk=event[0].pk).incident_id == second.pk
    assert notes[0].pk < notes[1].pk < later[0].pk


def test_a_block_that_raises_writes_nothing_and_blocks_do_not_nest():
    incident = IncidentFactory()
    before = TimelineEntry.objects.count()
    with pytest.raises(ValueError), rows.together():
        rows.insert_soon([entry(incident, "lost")])
        raise ValueError("the change failed")
    assert TimelineEntry.objects.count() == before
    with pytest.raises(RuntimeError), rows.together(), rows.together():
        pass
    rows.insert_soon([entry(incident, "written at once")])  # no block open: written now
    assert TimelineEntry.objects.count() == before + 1


def test_rows_prepared_before_their_incident_is_written_take_its_key_when_written_with_a_block(service):
    from incidents.models import Incident

    incident = Incident(service=service, dedup_key="later", title="Disk full", severity="SEV2")
    seen = []
    with CaptureQueriesContext(connection) as built, rows.prepared() as batch:
        entries = rows.insert_soon([TimelineEntry(incident=incident, kind="note", message="a", data={})])
        event = rows.insert_soon([IncidentEvent(incident=incident, kind="triggered")], then=lambda: seen.append(1))
    assert len(built) == 0 and seen == [] and entries[0].pk is None  # nothing written yet
    with pytest.raises(ValueError, match="not written yet"), rows.together():
        rows.write_soon(batch)
    assert rows.insert_unless_taken(incident)
    with CaptureQueriesContext(connection) as written, rows.together():
        rows.write_soon(batch)
        rows.insert_soon([entry(incident, "b")])
    # On SQLite each INSERT built beforehand, then the block's own.
    assert len(written) == (1 if connection.vendor == "postgresql" else 3)
    assert seen == [1]
    assert TimelineEntry.objects.get(pk=entries[0].pk).incident_id == incident.pk == entries[0].incident_id
    assert IncidentEvent.objects.get(pk=event[0].pk).incident_id == incident.pk
    assert list(TimelineEntry.objects.filter(incident=incident).values_list("message", flat=True)) == ["a", "b"]


def test_a_late_field_is_read_when_its_statement_runs(service):
    from incidents.models import Incident

    incident = Incident(service=service, dedup_key="numbered", title="Disk full", severity="SEV2")
    statement = rows.unless_taken(incident, late=("number",))
    incident.number = 4242
    assert rows.insert_unless_taken(incident, built=statement)
    assert Incident.objects.get(pk=incident.pk).number == 4242
    again = Incident(service=service, dedup_key="numbered", title="Disk full", severity="SEV2")
    assert not rows.insert_unless_taken(again) and again.pk is None  # the open incident holds the key


def test_a_row_and_the_prepared_rows_that_refer_to_it_are_one_statement_or_nothing_when_it_is_taken(service):
    from incidents.models import Incident

    require_postgres()  # one statement with writable CTEs

    def prepare(incident, *messages):
        with rows.prepared() as batch:
            entries = rows.insert_soon([TimelineEntry(incident=incident, kind="note", message=m) for m in messages])
            rows.insert_soon([IncidentEvent(incident=incident, kind="triggered")], then=lambda: seen.append(1))
        return batch, entries

    seen, late = [], {"title": "(SELECT 'from ' || value FROM source)"}
    before = [("source AS (SELECT %s AS value)", ["the CTE before"])]
    incident = Incident(service=service, dedup_key="once", title="", severity="SEV2")
    batch, entries = prepare(incident, "a", "b")
    statement = rows.unless_taken(incident, late=("title",))
    with CaptureQueriesContext(connection) as queries:
        assert rows.insert_with_rows(statement, batch, before=before, late=late)
    # (Inside the test's transaction, in a savepoint.)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SAVEPOINT", "WITH", "RELEASE"]
    assert seen == [1]
    assert Incident.objects.get(pk=incident.pk).title == incident.title == "from the CTE before"
    stored = TimelineEntry.objects.filter(incident=incident).order_by("pk")
    assert [(e.pk, e.message) for e in stored] == [(entries[0].pk, "a"), (entries[1].pk, "b")]

    taken = Incident(service=service, dedup_key="once", title="", severity="SEV2")  # the open incident's key
    batch, entries = prepare(taken, "lost")
    count = (TimelineEntry.objects.count(), IncidentEvent.objects.count())
    assert not rows.insert_with_rows(rows.unless_taken(taken, late=("title",)), batch, before=before, late=late)
    assert taken.pk is None and entries[0].pk is None and seen == [1]
    assert (TimelineEntry.objects.count(), IncidentEvent.objects.count()) == count

    alone = Incident(service=service, dedup_key="alone", title="x", severity="SEV2")
    with rows.prepared() as unrelated:
        rows.insert_soon([entry(incident, "c")])
    with pytest.raises(ValueError, match="no row of the batch refers"):
        rows.insert_with_rows(rows.unless_taken(alone), unrelated)


def test_another_not_null_violation_in_the_one_statement_is_raised(service):
    from django.db import IntegrityError

    from incidents.models import Incident

    require_postgres()
    incident = Incident(service=service, dedup_key="broken", title="Disk full", severity="SEV2")
    with rows.prepared() as batch:
        rows.insert_soon([TimelineEntry(incident=incident, kind="note", message="a")])
        rows.insert_soon([TimelineEntry(incident=incident, kind="note", message=None)])  # NOT NULL: not the key
    with pytest.raises(IntegrityError):
        rows.insert_with_rows(rows.unless_taken(incident), batch)
    assert not Incident.objects.filter(dedup_key="broken").exists()
