"""Database chores for benchmarks/ingest.py, run in a subprocess with the benchmark's settings.

    python benchmarks/_bench_db.py prepare NAME...   → {"NAME": "integration key", ...}
    python benchmarks/_bench_db.py counts NAME...    → {"NAME": {"incidents": …, "open": …, …}, ...}

Each NAME gets its own service (slug `bench-NAME`) and integration (Alertmanager
for a NAME starting with `am-`, else Events API v2), so the phases of one run do
not see each other's incidents. The services of NAMEs ending in `+chain` (the
suffix is dropped) get an escalation policy, so that a new incident writes its
escalation row as in production.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.bench_settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Min, Sum  # noqa: E402

from benchmarks._bench_urls import BARE_TABLE  # noqa: E402
from incidents.models import Alert, Escalation, Incident, Integration, Service, Status, TimelineEntry  # noqa: E402
from rotations.models import EscalationPolicy, EscalationStep  # noqa: E402


def create_bare_table():
    if connection.vendor == "postgresql":
        columns = "id bigserial PRIMARY KEY, received_at timestamptz NOT NULL, body text NOT NULL"
    else:
        columns = "id integer PRIMARY KEY AUTOINCREMENT, received_at text NOT NULL, body text NOT NULL"
    ddl = f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} ({columns})"
    with connection.cursor() as cursor:
        cursor.execute(ddl)


def escalation_policy():
    """One step that pages one person (who has no contact method: nothing is sent, the rows are written)."""
    policy, created = EscalationPolicy.objects.get_or_create(name="Benchmark")
    if created:
        user, _ = get_user_model().objects.get_or_create(username="bench-oncall")
        EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(user)
    return policy


def prepare(names):
    create_bare_table()
    keys = {}
    for spec in names:
        name, chained = spec.removesuffix("+chain"), spec.endswith("+chain")
        service, _ = Service.objects.get_or_create(slug=f"bench-{name}", defaults={"name": f"Benchmark {name}"})
        if chained:
            service.escalation_policy = escalation_policy()
            service.save(update_fields=["escalation_policy"])
        kind = Integration.Kind.ALERTMANAGER if name.startswith("am-") else Integration.Kind.EVENTS_V2
        integration, _ = Integration.objects.get_or_create(
            service=service, name=f"bench {name}", defaults={"kind": kind}
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
            "escalations": Escalation.objects.filter(incident__service__slug=f"bench-{name}").count(),
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
