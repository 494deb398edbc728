#!/usr/bin/env python
"""Release gate benchmark: GET /api/v1/releases/gate/ over HTTP against gunicorn.

    .venv/bin/python benchmarks/gate.py                           # SQLite
    .venv/bin/python benchmarks/gate.py --database postgres       # PostgreSQL (database piquet_gate_bench)
    .venv/bin/python benchmarks/gate.py --requests 3000 --workers 2

It creates a fresh database, migrates it, and seeds 50 services and 200 enabled
windows: 20 apply to every service (weekend and evening freezes, Swiss
holidays, one-off freezes, soft freezes, release windows for some
environments) and 180 name one to three services each, in several time zones.
One service has an open SEV2 incident, two have an approved exception.

Then it starts gunicorn on 127.0.0.1 (settings `project.settings`, DEBUG off)
and, one client after the other, asks the gate:

  now       service chosen at random, no `at`: what a pipeline asks
  at        a random instant in the next 7 days (`at=`), user token
  key       as `now`, authenticated with an integration key
  all200    a service to which all 200 windows apply (worst case)

Latency is measured by the client, from sending the request to reading the whole
answer, a new TCP connection each time (gunicorn's sync workers close it).
Results are printed and written to benchmarks/results/gate-<time>.json.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOST = "127.0.0.1"
RESULTS = ROOT / "benchmarks" / "results"
SERVICES = 50
WINDOWS = 200
GLOBAL_WINDOWS = 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server URL, no database")
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests per scenario")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=5)
    return parser.parse_args()


def database_url(args):
    if args.database == "postgres":
        import psycopg

        with psycopg.connect(args.postgres + "/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS piquet_gate_bench")
            conn.execute("CREATE DATABASE piquet_gate_bench")
        return args.postgres + "/piquet_gate_bench?conn_max_age=60"
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "piquet_gate.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    # Connections kept open between requests, as production settings do for PostgreSQL.
    return f"sqlite:///{path}?conn_max_age=60"


def seed(rng):
    """Create the services, windows, users and tokens; return what the client needs."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from incidents import opening
    from incidents.models import Integration, Service
    from releases.models import FreezeException, ReleaseWindow

    call_command("migrate", verbosity=0)
    services = [Service.objects.create(name=f"Service {n}", slug=f"service-{n}") for n in range(SERVICES)]
    worst = Service.objects.create(name="Everything", slug="everything")
    key = Integration.objects.create(service=services[0], name="CI").key
    zones = ["Europe/Zurich", "Europe/London", "America/New_York", "Asia/Tokyo", "UTC"]
    now = timezone.now()
    global_specs = [
        {"name": "Weekend freeze", "start_cron": "0 12 * * 5", "end_cron": "0 8 * * 1"},
        {"name": "Evening freeze", "start_cron": "0 16 * * 1-4", "end_cron": "0 8 * * 2-5"},
        {"name": "Swiss holidays", "holiday_country": "CH", "holiday_subdivision": "ZH"},
        {"name": "US holidays", "holiday_country": "US", "time_zone": "America/New_York", "enforcement": "soft"},
        {"name": "Year-end", "starts_at": now + timedelta(days=20), "ends_at": now + timedelta(days=35)},
        {"name": "Lunch (soft)", "start_cron": "0 12 * * 1-5", "end_cron": "0 13 * * 1-5", "enforcement": "soft"},
        {
            "name": "Staging office hours",
            "kind": "allow",
            "start_cron": "0 7 * * 1-5",
            "end_cron": "0 19 * * 1-5",
            "environments": "staging",
        },
    ]
    windows = []
    for n in range(WINDOWS):
        if n < GLOBAL_WINDOWS:
            spec = dict(global_specs[n % len(global_specs)])
            spec["name"] = f"{spec['name']} {n}"
        else:
            hour = rng.randrange(0, 24)
            day = rng.randrange(0, 7)
            spec = {
                "name": f"Window {n}",
                "start_cron": f"{rng.choice([0, 15, 30, 45])} {hour} * * {day}",
                "end_cron": f"0 {(hour + rng.randrange(1, 6)) % 24} * * *",
                "time_zone": rng.choice(zones),
                "kind": rng.choice(["deny", "deny", "deny", "allow"]),
                "enforcement": rng.choice(["hard", "hard", "soft"]),
            }
        spec.setdefault("time_zone", "Europe/Zurich")
        window = ReleaseWindow(**spec)
        window.full_clean()
        window.save()
        if n >= GLOBAL_WINDOWS:
            window.services.set(rng.sample(services, rng.randrange(1, 4)))
        windows.append(window)
    responders = Group.objects.get(name="Responders")
    managers = Group.objects.get(name="Managers")
    ci = User.objects.create_user("ci", email="ci@example.com")
    ci.groups.add(responders)
    boss = User.objects.create_user("boss", email="boss@example.com")
    boss.groups.add(managers)
    token = Token.objects.create(user=ci).key
    with_everything = ReleaseWindow.objects.filter(pk__in=[w.pk for w in windows[GLOBAL_WINDOWS:]])
    for window in with_everything:
        window.services.add(worst)
    with transaction.atomic():
        opening.open_or_join(service=services[7], dedup_key="bench", title="Checkout errors", severity="SEV2")
    for service in services[10:12]:
        exception = FreezeException.objects.create(
            reason="Bench", requested_by=ci, approved_by=boss, starts_at=now, ends_at=now + timedelta(days=30)
        )
        exception.services.add(service)
    return {"token": token, "key": key, "slugs": [s.slug for s in services], "worst": worst.slug}


def start_server(args, env):
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "project.wsgi", "-b", f"{HOST}:{args.port}", "-w", str(args.workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, args.port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status < 500:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(server):
    """User + system CPU of gunicorn's master and workers so far (from /proc)."""
    pids = [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def load_average():
    return round(os.getloadavg()[0], 2)


def get(port, path, headers):
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    return response.status, body, elapsed


def scenario(args, server, name, make_request):
    for _ in range(args.warmup):
        get(args.port, *make_request())
    latencies, statuses, blocked = [], {}, 0
    load_before = load_average()
    cpu_before = server_cpu_seconds(server)
    started = time.perf_counter()
    for _ in range(args.requests):
        status, body, elapsed = get(args.port, *make_request())
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200 and not json.loads(body)["allowed"]:
            blocked += 1
        latencies.append(elapsed * 1000)
    wall = time.perf_counter() - started
    cpu = server_cpu_seconds(server) - cpu_before
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "scenario": name,
        "requests": args.requests,
        "statuses": statuses,
        "blocked": blocked,
        "rate_per_s": round(args.requests / wall, 1),
        "p50_ms": round(quantiles[49], 2),
        "p90_ms": round(quantiles[89], 2),
        "p99_ms": round(quantiles[98], 2),
        "max_ms": round(latencies[-1], 2),
        "server_cpu_ms_per_request": round(cpu * 1000 / args.requests, 2),
        "load_average": [load_before, load_average()],
    }


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "SECRET_KEY": "piquet-tests-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
        "DEBUG": "0",
        "DATABASE_URL": database_url(args),
        "ALLOWED_HOSTS": HOST,
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    seeded = seed(rng)
    from django.db import connections

    connections.close_all()
    token = {"Authorization": f"Token {seeded['token']}"}
    key = {"X-Routing-Key": seeded["key"]}
    now = datetime.now(UTC)

    def now_request():
        return f"/api/v1/releases/gate/?service={rng.choice(seeded['slugs'])}", token

    def at_request():
        at = now + timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
        query = urlencode({"service": rng.choice(seeded["slugs"]), "at": at.isoformat()})
        return f"/api/v1/releases/gate/?{query}", token

    def key_request():
        return "/api/v1/releases/gate/", key

    def worst_request():
        return f"/api/v1/releases/gate/?service={seeded['worst']}", token

    server = start_server(args, env)
    try:
        results = [
            scenario(args, server, "now", now_request),
            scenario(args, server, "at", at_request),
            scenario(args, server, "key", key_request),
            scenario(args, server, "all200", worst_request),
        ]
    finally:
        server.terminate()
        server.wait(timeout=10)
    report = {
        "benchmark": "gate",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": args.database,
        "gunicorn_workers": args.workers,
        "services": SERVICES,
        "windows": WINDOWS,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"gate-{args.database}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"gate benchmark, {args.database}, {args.workers} gunicorn workers, {SERVICES} services, {WINDOWS} windows")
    print(f"{'scenario':10} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'cpu ms':>7}  load")
    for r in results:
        print(
            f"{r['scenario']:10} {r['rate_per_s']:>8} {r['p50_ms']:>8} {r['p90_ms']:>8} {r['p99_ms']:>8} "
            f"{r['max_ms']:>8} {r['server_cpu_ms_per_request']:>7}  {r['load_average']} "
            f"{r['statuses']} blocked={r['blocked']}"
        )
    print(f"written to {out.relative_to(ROOT)}")
    if any(r["p99_ms"] >= 20 for r in results):
        print("p99 is 20 ms or more in at least one scenario")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
