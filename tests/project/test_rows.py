"""project.rows: rows written in one statement get their own keys, and nothing is written by a block that fails."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import IncidentEvent, TimelineEntry
from project import rows
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
