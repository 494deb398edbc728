#!/usr/bin/env python
"""On-call math and API benchmark.

    .venv/bin/python benchmarks/oncall.py                       # in-memory SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/piquet_oncall_bench .venv/bin/python benchmarks/oncall.py
    .venv/bin/python benchmarks/oncall.py --schedules 1000 --repeat 7

Part 1, the math (rotations.plans and rotations.final_schedule, no database): a schedule in Europe/Zurich
with 3 layers of 20 people each (weekly; daily with office-hours restrictions;
12-hourly with night and weekend restrictions) and 200 overrides spread over
the year.

  who_at       who is on call at a random instant of the year (the question the
               escalation engine asks), per call
  oncall       the same plus the merged segment containing the instant
  year         the final schedule over 365 days (shifts and gaps), per call;
               "cold" empties the wall-clock cache first

Part 2, the API: GET /api/v1/oncall/ (every schedule at once) over N schedules
of 2 layers (3 people, one layer restricted) and one override each, through
Django's test client (no HTTP server), counting the SQL queries; run at N/10
and N to show that the count does not grow with N.

Results are printed and written to benchmarks/results/oncall-<time>.json.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings_test")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from project import clock  # noqa: E402
from rotations import final_schedule, plans  # noqa: E402
from rotations.models import Layer, Override, Participant, Schedule  # noqa: E402

ZONE = "Europe/Zurich"
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
OFFICE = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}]
NIGHTS = [
    {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "18:00", "end": "08:00"},
    {"days": ["sat", "sun"], "start": "00:00", "end": "00:00"},
]


def timed(fn, repeat, cpu=None):
    """Wall-clock milliseconds of `repeat` calls; with a `cpu` list, also this process's CPU time
    (steadier than wall time when other processes share the machine)."""
    samples = []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - started_cpu) * 1000)
    return samples


def summary(samples):
    ordered = sorted(samples)
    return {
        "runs": len(samples),
        "median_ms": round(statistics.median(ordered), 4),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 4),
        "max_ms": round(ordered[-1], 4),
    }


def math_plan(rng):
    people = [f"person{n}" for n in range(60)]
    anchor = datetime(2024, 12, 30, 9, tzinfo=clock.get_zone(ZONE))
    layers = [
        plans.make_layer(
            time_zone=ZONE,
            rotation_start=anchor,
            starts_at=anchor - timedelta(days=400),
            shift_length=1,
            shift_unit="weeks",
            participants=people[:20],
            priority=0,
            id=1,
        ),
        plans.make_layer(
            time_zone=ZONE,
            rotation_start=anchor,
            starts_at=anchor - timedelta(days=400),
            shift_length=1,
            shift_unit="days",
            participants=people[20:40],
            restrictions=OFFICE,
            priority=1,
            id=2,
        ),
        plans.make_layer(
            time_zone=ZONE,
            rotation_start=anchor,
            starts_at=anchor - timedelta(days=400),
            shift_length=12,
            shift_unit="hours",
            participants=people[40:],
            restrictions=NIGHTS,
            priority=2,
            id=3,
        ),
    ]
    overrides = []
    for _ in range(200):
        start = YEAR_START + timedelta(minutes=15 * rng.randrange(365 * 96))
        overrides.append((start, start + timedelta(hours=rng.choice([2, 4, 8, 12, 24, 48])), rng.choice(people)))
    return plans.make_plan(time_zone=ZONE, layers=layers, overrides=overrides)


def bench_math(repeat):
    rng = random.Random(42)
    plan = math_plan(rng)
    instants = [YEAR_START + timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(2000)]
    year_end = YEAR_START + timedelta(days=365)

    clock.localize.cache_clear()
    cold_who = timed(lambda: final_schedule.who_at(plan, instants[0]), 1)
    it = iter(instants * 10)
    who = timed(lambda: final_schedule.who_at(plan, next(it)), 5000)
    it = iter(instants * 10)
    with_segment = timed(
        lambda: (final_schedule.who_at(plan, (t := next(it))), final_schedule.segment_at(plan, t)), 1000
    )

    def year_cold():
        clock.localize.cache_clear()
        return final_schedule.final_segments(plan, YEAR_START, year_end)

    cold_cpu, warm_cpu = [], []
    cold_year = timed(year_cold, repeat, cold_cpu)
    warm_year = timed(lambda: final_schedule.final_segments(plan, YEAR_START, year_end), repeat, warm_cpu)
    segments = final_schedule.final_segments(plan, YEAR_START, year_end)
    return {
        "schedule": "3 layers x 20 people (weekly; daily 08-18 Mon-Fri; 12-hourly nights+weekends), 200 overrides",
        "who_at": summary(who),
        "who_at_first_call_cold_ms": round(cold_who[0], 4),
        "oncall_with_segment": summary(with_segment),
        "year_of_shifts_cold": {**summary(cold_year), "cpu_median_ms": round(statistics.median(cold_cpu), 2)},
        "year_of_shifts_warm": {**summary(warm_year), "cpu_median_ms": round(statistics.median(warm_cpu), 2)},
        "year_segments": len(segments),
        "year_gaps": sum(1 for s in segments if s.is_gap),
    }


def seed_schedules(count, offset):
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"bench{offset * 3 + n}") for n in range(count * 3))
    schedules = Schedule.objects.bulk_create(
        Schedule(name=f"Schedule {offset + n:05d}", time_zone=random.choice(["Europe/Zurich", "America/Chicago"]))
        for n in range(count)
    )
    anchor = datetime(2025, 1, 6, 8, tzinfo=UTC)
    layers = []
    for schedule in schedules:
        layers.append(
            Layer(schedule=schedule, name="Weekly", rotation_start=anchor, starts_at=anchor, shift_unit="weeks")
        )
        layers.append(
            Layer(
                schedule=schedule,
                name="Office",
                priority=1,
                rotation_start=anchor,
                starts_at=anchor,
                shift_unit="days",
                restrictions=OFFICE,
            )
        )
    layers = Layer.objects.bulk_create(layers)
    participants = []
    for index, layer in enumerate(layers):
        people = users[(index // 2) * 3 : (index // 2) * 3 + 3]
        participants += [Participant(layer=layer, user=user, position=p) for p, user in enumerate(people)]
    Participant.objects.bulk_create(participants)
    now = datetime.now(UTC)
    Override.objects.bulk_create(
        Override(schedule=s, user=users[i * 3], start=now - timedelta(hours=1), end=now + timedelta(hours=i % 48 + 1))
        for i, s in enumerate(schedules)
    )


def bench_api(count, repeat):
    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)  # a PostgreSQL database may hold an earlier run
    admin = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", "x")
    client = APIClient()
    client.force_authenticate(admin)
    results = {}
    seeded = 0
    for size in (max(1, count // 10), count):
        seed_schedules(size - seeded, seeded)
        seeded = size
        client.get("/api/v1/oncall/")
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/oncall/")
        query_count = len(queries.captured_queries)
        assert response.status_code == 200 and len(response.json()) == size, response.status_code
        cpu = []
        samples = timed(lambda: client.get("/api/v1/oncall/"), repeat, cpu)
        results[str(size)] = {
            "queries": query_count,
            **summary(samples),
            "cpu_median_ms": round(statistics.median(cpu), 1),
        }
    return {"endpoint": "GET /api/v1/oncall/", "database": connection.vendor, "by_schedules": results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "math": bench_math(max(args.repeat, 20)),
        "api": bench_api(args.schedules, args.repeat),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"oncall-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"written to {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
