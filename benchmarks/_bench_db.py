"""Database chores for benchmarks/ingest.py, run in a subprocess with the benchmark's settings.

    python benchmarks/_bench_db.py prepare NAME...   → {"NAME": "integration key", ...}
    python benchmarks/_bench_db.py counts NAME...    → {"NAME": {"incidents": …, "open": …, …}, ...}

Each NAME gets its own service (slug `bench-NAME`) and Events API v2 integration,
so the phases of one run do not see each other's incidents.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.bench_settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Max, Min, Sum  # noqa: E402

from benchmarks._bench_urls import BARE_TABLE  # noqa: E402
from incidents.models import Alert, Incident, Integration, Service, Status, TimelineEntry  # noqa: E402


def create_bare_table():
    if connection.vendor == "postgresql":
        columns = "id bigserial PRIMARY KEY, received_at timestamptz NOT NULL, body text NOT NULL"
    else:
        columns = "id integer PRIMARY KEY AUTOINCREMENT, received_at text NOT NULL, body text NOT NULL"
    ddl = f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} ({columns})"
    with connection.cursor() as cursor:
        cursor.execute(ddl)


def prepare(names):
    create_bare_table()
    keys = {}
    for name in names:
        service, _ = Service.objects.get_or_create(slug=f"bench-{name}", defaults={"name": f"Benchmark {name}"})
        integration, _ = Integration.objects.get_or_create(
            service=service, name=f"bench {name}", defaults={"kind": Integration.Kind.EVENTS_V2}
        )
        keys[name] = integration.key
    return keys


def counts(names):
    result = {}
    for name in names:
        incidents = Incident.objects.filter(service__slug=f"bench-{name}")
        numbers = incidents.aggregate(low=Min("number"), high=Max("number"), alerts=Sum("alert_count"))
        result[name] = {
            "incidents": incidents.count(),
            "open": incidents.exclude(status=Status.RESOLVED).count(),
            "alerts": Alert.objects.filter(integration__service__slug=f"bench-{name}").count(),
            "alert_count_sum": numbers["alerts"] or 0,
            "timeline_entries": TimelineEntry.objects.filter(incident__service__slug=f"bench-{name}").count(),
            "number_span": (numbers["high"] - numbers["low"] + 1) if numbers["low"] is not None else 0,
        }
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {BARE_TABLE}")  # noqa: S608 (constant name)
        result["_bare_rows"] = cursor.fetchone()[0]
    return result


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    action = {"prepare": prepare, "counts": counts}[command]
    print(json.dumps(action(args)))
