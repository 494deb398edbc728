"""Many monitoring clients at once, on PostgreSQL: one incident per dedup key, numbers without gaps."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from incidents.models import Alert, Incident, IncidentCounter, Status
from tests.conftest import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


@pytest.fixture(autouse=True)
def postgres_only(db):
    require_postgres()
    # The row the migration creates; a transactional test's flush removes it.
    IncidentCounter.objects.get_or_create(pk=1, defaults={"value": 0})


def trigger_body(integration, dedup_key, index):
    return {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": f"Checkout fails ({index})", "source": f"probe-{index}", "severity": "critical"},
    }


def post_all_at_once(bodies_per_thread):
    """Each thread posts its bodies through the real view, all threads starting together."""
    start = threading.Barrier(len(bodies_per_thread))

    def run(bodies):
        client = Client()
        try:
            start.wait(timeout=30)
            return [client.post("/v2/enqueue", body, content_type="application/json").status_code for body in bodies]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(bodies_per_thread)) as pool:
        results = list(pool.map(run, bodies_per_thread))
    return [code for codes in results for code in codes]


def test_same_dedup_key_from_many_clients_at_once_opens_exactly_one_incident(integration):
    per_thread = 5
    statuses = post_all_at_once(
        [
            [trigger_body(integration, "checkout-down", thread * per_thread + i) for i in range(per_thread)]
            for thread in range(THREADS)
        ]
    )

    assert statuses == [202] * THREADS * per_thread
    incident = Incident.objects.get()
    assert incident.status == Status.TRIGGERED
    assert incident.dedup_key == "checkout-down"
    assert incident.alert_count == THREADS * per_thread
    assert Alert.objects.filter(incident=incident).count() == THREADS * per_thread
    assert incident.timeline.filter(kind="triggered").count() == 1
    sources = set(Alert.objects.values_list("source", flat=True))
    assert len(sources) == THREADS * per_thread
    # The triggers that lost the race to create it gave their numbers back: the next incident is the next number.
    assert post_all_at_once([[trigger_body(integration, "search-down", 0)]]) == [202]
    assert Incident.objects.get(dedup_key="search-down").number == incident.number + 1


def test_concurrent_triggers_with_distinct_keys_get_distinct_gap_free_numbers(integration):
    per_thread = 4
    before = IncidentCounter.objects.get(pk=1).value
    statuses = post_all_at_once(
        [
            [trigger_body(integration, f"key-{thread}-{i}", thread * per_thread + i) for i in range(per_thread)]
            for thread in range(THREADS)
        ]
    )

    assert statuses == [202] * THREADS * per_thread
    numbers = sorted(Incident.objects.values_list("number", flat=True))
    assert numbers == list(range(before + 1, before + 1 + THREADS * per_thread))
    assert Incident.objects.values("dedup_key").distinct().count() == THREADS * per_thread
    assert all(count == 1 for count in Incident.objects.values_list("alert_count", flat=True))


def test_a_resolve_racing_new_triggers_leaves_at_most_one_open_incident(integration):
    client = Client()
    assert client.post("/v2/enqueue", trigger_body(integration, "flapping", 0), content_type="application/json")
    resolve = {"routing_key": integration.key, "event_action": "resolve", "dedup_key": "flapping"}
    bodies = [
        [resolve if (thread + i) % 2 else trigger_body(integration, "flapping", i) for i in range(4)]
        for thread in range(THREADS)
    ]

    statuses = post_all_at_once(bodies)

    assert statuses == [202] * THREADS * 4
    assert Incident.objects.filter(dedup_key="flapping").exclude(status=Status.RESOLVED).count() <= 1
    triggers = Alert.objects.filter(dedup_key="flapping", action="trigger")
    assert triggers.count() == 1 + THREADS * 2
    assert triggers.filter(incident=None).count() == 0
    for incident in Incident.objects.filter(dedup_key="flapping"):
        assert incident.alert_count == triggers.filter(incident=incident).count()
