"""An Alertmanager notification costs what it changes, not what its group holds."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents import ingest, ingest_sql
from incidents.models import Alert, Incident, IncidentCounter
from tests.conftest import require_postgres
from tests.incidents.test_alertmanager_webhook import GROUP_KEY, firing_alert, notification, post

pytestmark = pytest.mark.django_db

ALERT_TABLE = Alert._meta.db_table
TABLE = connection.ops.quote_name(ALERT_TABLE)
INCIDENT_TABLE = connection.ops.quote_name(Incident._meta.db_table)


def group(numbers, **overrides):
    return notification(alerts=[firing_alert(f"fp{n:05d}", instance=f"web-{n}") for n in numbers], **overrides)


def queries_of(client, integration, body):
    with CaptureQueriesContext(connection) as context:
        assert post(client, integration, body).status_code == 202
    return [query["sql"] for query in context.captured_queries]


def writes_of_alerts(queries):
    """The statements that insert or update alert rows (an upsert is an INSERT)."""
    return [sql for sql in queries if f"INSERT INTO {TABLE}" in sql or f"UPDATE {TABLE}" in sql]


def updates_of_incidents(queries):
    return [sql for sql in queries if f"UPDATE {INCIDENT_TABLE}" in sql]


def stored_group(integration, incident, count):
    """`count` alerts as the webhook writes them, without posting a body of that size."""
    raw = [firing_alert(f"old{n:05d}", instance=f"old-{n}") for n in range(count)]
    Alert.objects.bulk_create(
        Alert(
            integration=integration,
            incident=incident,
            dedup_key=incident.dedup_key,
            fingerprint=alert["fingerprint"],
            action="trigger",
            status="firing",
            summary=alert["annotations"]["summary"],
            payload={"alert": alert, "group": {"groupKey": GROUP_KEY}},
        )
        for alert in raw
    )
    Incident.objects.filter(pk=incident.pk).update(alert_count=count)


@pytest.mark.parametrize("size", [10, 1000])
def test_unchanged_redelivery_is_one_query_and_writes_nothing(client, am_integration, size):
    body = group(range(size))
    post(client, am_integration, body)
    received = dict(Alert.objects.values_list("fingerprint", "received_at"))

    queries = queries_of(client, am_integration, body)

    assert len(queries) == 1, queries  # the same for 10 and 1,000 alerts
    assert "FOR UPDATE" not in queries[0]  # no lock: a storm of re-deliveries never queues on the incident
    assert not writes_of_alerts(queries)
    assert not updates_of_incidents(queries)
    assert dict(Alert.objects.values_list("fingerprint", "received_at")) == received
    assert Incident.objects.get().alert_count == size


def test_adding_one_alert_costs_the_same_queries_beside_10_or_10000_stored_alerts(client, am_integration, service):
    counts = {}
    for size in (10, 10_000):
        body = group([0], groupKey=f"{{}}:{{size={size}}}")
        post(client, am_integration, body)
        incident = Incident.objects.get(dedup_key=body["groupKey"])
        stored_group(am_integration, incident, size)

        queries = queries_of(client, am_integration, group([0, 1], groupKey=body["groupKey"]))

        counts[size] = len(queries)
        assert len(writes_of_alerts(queries)) == 1  # the new alert, in one statement
        assert len(updates_of_incidents(queries)) == 1  # the incident's counters, once
        incident.refresh_from_db()
        assert incident.alert_count == size + 1
    assert counts[10] == counts[10_000]


def test_adding_one_alert_beside_10000_stored_alerts_takes_as_long_as_beside_10(client, am_integration):
    keys = {size: f"{{}}:{{size={size}}}" for size in (10, 10_000)}
    for size, key in keys.items():
        post(client, am_integration, group([0], groupKey=key))
        stored_group(am_integration, Incident.objects.get(dedup_key=key), size)
    best = dict.fromkeys(keys, float("inf"))
    for step in range(1, 61):
        for size, key in keys.items():  # interleaved, so that a busy moment of the machine slows both
            body = group(range(max(0, step - 9), step + 1), groupKey=key)
            started = time.perf_counter()
            post(client, am_integration, body)
            best[size] = min(best[size], time.perf_counter() - started)
    assert best[10_000] <= 1.2 * best[10], best


def test_the_alerts_of_a_group_are_found_through_the_fingerprint_index(client, am_integration):
    post(client, am_integration, group(range(10)))
    incident = Incident.objects.get()
    stored_group(am_integration, incident, 10_000)
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"ANALYZE {ALERT_TABLE}")
        sql = ingest_sql.statement(ingest_sql.READ_GROUP, ingest_sql.OPEN_GROUP)
        fingerprints = ["fp00001", "new"] if postgres else '["fp00001", "new"]'
        params = {"service": incident.service_id, "dedup_key": incident.dedup_key, "fingerprints": fingerprints}
        cursor.execute(
            ("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql, {**params, "title": None, "description": None}
        )
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "one_alert_per_fingerprint_and_incident" in plan, plan


def test_a_thousand_new_alerts_are_inserted_in_one_statement(client, am_integration):
    queries = queries_of(client, am_integration, group(range(1000)))
    assert len(writes_of_alerts(queries)) == 1
    assert Alert.objects.count() == Incident.objects.get().alert_count == 1000

    queries = queries_of(client, am_integration, group(range(1500)))
    assert len(writes_of_alerts(queries)) == 1
    assert Alert.objects.count() == Incident.objects.get().alert_count == 1500


def test_only_the_changed_alerts_are_written(client, am_integration):
    post(client, am_integration, group(range(5)))
    before = dict(Alert.objects.values_list("fingerprint", "received_at"))
    body = group(range(5))
    body["alerts"][1]["annotations"] = {"summary": "Error rate above 20% on web-1"}
    body["alerts"][2]["labels"]["team"] = "checkout"
    body["alerts"][3]["generatorURL"] = "http://prometheus-2:9090/graph"  # not what an alert is

    queries = queries_of(client, am_integration, body)

    assert len(writes_of_alerts(queries)) == 1
    after = dict(Alert.objects.values_list("fingerprint", "received_at"))
    assert {fp for fp in before if after[fp] != before[fp]} == {"fp00001", "fp00002"}
    assert Alert.objects.get(fingerprint="fp00001").summary == "Error rate above 20% on web-1"
    assert Alert.objects.get(fingerprint="fp00002").payload["alert"]["labels"]["team"] == "checkout"
    assert Incident.objects.get().alert_count == 5


def test_a_resolved_alert_in_a_firing_group_is_recorded_and_the_group_resolve_resolves(client, am_integration):
    post(client, am_integration, group(range(3)))
    body = group(range(3))
    body["alerts"][0].update(status="resolved", endsAt="2026-11-27T19:00:00Z", annotations={})

    post(client, am_integration, body)

    incident = Incident.objects.get()
    assert incident.is_open
    assert dict(Alert.objects.values_list("fingerprint", "status")) == {
        "fp00000": "resolved",
        "fp00001": "firing",
        "fp00002": "firing",
    }
    assert Alert.objects.get(fingerprint="fp00000").payload["alert"]["annotations"] == {
        "summary": "Error rate above 5% on web-0"
    }
    assert post(client, am_integration, body).status_code == 202  # again: nothing changes
    assert Incident.objects.get().is_open

    resolved = group(range(3), status="resolved")
    for alert in resolved["alerts"]:
        alert.update(status="resolved", endsAt="2026-11-27T19:05:00Z")
    post(client, am_integration, resolved)
    incident.refresh_from_db()
    assert not incident.is_open
    assert set(Alert.objects.values_list("status", flat=True)) == {"resolved"}
    assert incident.alert_count == Alert.objects.count() == 3


def test_a_new_summary_still_updates_the_title_as_one_line(client, am_integration):
    post(client, am_integration, group(range(2)))
    post(client, am_integration, group(range(2), annotations={"summary": "Checkout down\nsee runbook"}))
    assert Incident.objects.get().title == "Checkout down see runbook"
    queries = queries_of(client, am_integration, group(range(2), annotations={"summary": "Checkout down\nsee runbook"}))
    assert len(queries) == 1


def test_an_alert_another_notification_added_between_the_read_and_the_lock_is_counted_once(
    client, am_integration, monkeypatch
):
    post(client, am_integration, group(range(2)))
    body = group(range(3))
    before_the_other = ingest._read_group(
        {alert["fingerprint"]: alert for alert in body["alerts"]},
        service=am_integration.service_id,
        dedup_key=GROUP_KEY,
    )
    post(client, am_integration, body)  # the other notification adds fp00002 meanwhile
    real_read = ingest._read_group
    reads = []

    def stale_first_read(*args, **kwargs):
        reads.append(kwargs)
        return before_the_other if len(reads) == 1 else real_read(*args, **kwargs)

    monkeypatch.setattr(ingest, "_read_group", stale_first_read)

    assert post(client, am_integration, body).status_code == 202

    assert len(reads) == 2  # the stale read, then again under the lock
    assert Alert.objects.count() == Incident.objects.get().alert_count == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_alertmanagers_sending_the_same_growing_group_at_once_count_each_alert_once(am_integration):
    require_postgres()
    IncidentCounter.objects.get_or_create(pk=1, defaults={"value": 0})
    threads, rounds = 4, 15
    start = threading.Barrier(threads)

    def send(_):
        client = Client()
        try:
            start.wait(timeout=30)
            return [post(client, am_integration, group(range(n + 1))).status_code for n in range(rounds)]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = [code for codes in pool.map(send, range(threads)) for code in codes]

    assert statuses == [202] * threads * rounds
    incident = Incident.objects.get()
    assert incident.alert_count == Alert.objects.count() == rounds
