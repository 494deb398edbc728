"""Finding a service's open incident reads the index of open incidents, not every incident the service had.

SQLite uses a partial index only when the query repeats the index's condition
(`NOT (status = 'resolved')`); `status <> 'resolved'` means the same and reads
all of the service's incidents, a cost that grows with every incident resolved.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Incident, Status
from tests.incidents.test_alertmanager_webhook import notification
from tests.incidents.test_alertmanager_webhook import post as post_alertmanager

pytestmark = pytest.mark.django_db

INDEX = "one_open_incident_per_dedup_key"
KEY_CONDITION = re.compile(r'dedup_key"? = ')
TABLE = connection.ops.quote_name(Incident._meta.db_table)


def event(integration, action, key):
    return {
        "routing_key": integration.key,
        "event_action": action,
        "dedup_key": key,
        "payload": {"summary": "Disk full on db-1", "source": "db-1", "severity": "critical"},
    }


def resolved_history(service, count):
    now = timezone.now()
    Incident.objects.bulk_create(
        Incident(service=service, number=10_000 + n, title="old", dedup_key=f"old-{n % 50}", status=Status.RESOLVED)
        for n in range(count)
    )
    Incident.objects.update(created_at=now, resolved_at=now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLE}")


def open_lookups(queries):
    """The statements that look a service's incident up by its dedup key."""
    return [
        q["sql"]
        for q in queries
        if TABLE in q["sql"] and " WHERE " in q["sql"] and KEY_CONDITION.search(q["sql"].split(" WHERE ", 1)[1])
    ]


def plan_of(sql):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return " ".join(str(row) for row in cursor.fetchall())


def test_events_and_alertmanager_find_the_open_incident_through_its_index(client, integration, am_integration):
    resolved_history(integration.service, 2000)
    with CaptureQueriesContext(connection) as context:
        for action in ("trigger", "trigger", "acknowledge", "resolve"):
            response = client.post("/v2/enqueue", event(integration, action, "disk"), content_type="application/json")
            assert response.status_code == 202
        for status in ("firing", "firing", "resolved"):
            alerts = [dict(notification()["alerts"][0], status=status)]
            assert post_alertmanager(client, am_integration, notification(status=status, alerts=alerts)).status_code
    lookups = open_lookups(context.captured_queries)
    assert len(lookups) >= 5, [q["sql"] for q in context.captured_queries]
    for sql in lookups:
        if "'resolved'" in sql or "NOT" in sql:  # the lookups of open incidents
            assert INDEX in plan_of(sql), sql
    assert Incident.objects.exclude(status=Status.RESOLVED).count() == 0


def test_the_open_incidents_of_a_queryset_are_selected_through_the_index(service):
    resolved_history(service, 2000)
    sql = str(Incident.objects.open().filter(service=service, dedup_key="disk").order_by().query)
    assert INDEX in plan_of(sql.replace("= disk", "= 'disk'"))
