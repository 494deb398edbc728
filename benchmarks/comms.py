"""Stakeholder communications: one update fanned out to many subscribers; the status page's render time.

    .venv/bin/python benchmarks/comms.py                     # SQLite + ORM broker (the embedded default)
    .venv/bin/python benchmarks/comms.py --postgres          # PostgreSQL + Redis
    .venv/bin/python benchmarks/comms.py --subscribers 2000  # a quicker run

Fan-out: a fresh database with one stakeholder group of N webhook
subscribers, all pointing at a receiver in this process, and the real
`manage.py worker` running. One status update is posted the way the API posts
it; the benchmark measures

- queued: from the post to every delivery row written and handed to the queue;
- delivered: from the post to the last webhook arriving at the receiver, and
  the delivery rate; each subscriber must receive the update exactly once.

Status page: 50 services with 90 days of public incidents (one every third
day per service, a few still open); `GET /status/` through Django's full
middleware stack, server time over 30 renders, and its number of queries.

Prints a JSON report (also saved in benchmarks/results/); docs/benchmarks.md
keeps the latest numbers.
"""

import argparse
import http.server
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SQLITE_PATH = ROOT / "var" / "bench-comms.sqlite3"
PG_NAME = "piquet_bench_comms"


class Receiver:
    """Counts the webhooks that arrive, by path."""

    def __init__(self):
        self.arrivals = Counter()
        self.last = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.arrivals[self.path] += 1
                    receiver.last = time.time()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def total(self):
        with self.lock:
            return sum(self.arrivals.values())


def environment(args):
    env = {
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "SECRET_KEY": "piquet-tests-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
        "PIQUET_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "PIQUET_BASE_URL": "http://127.0.0.1:8000",
        "Q_CLUSTER_NAME": f"piquet-bench-comms-{os.getpid()}",
        "LOG_LEVEL": "WARNING",
        "EMAIL_URL": "consolemail://",
    }
    if args.postgres:
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
        env["Q_BROKER"] = "redis://127.0.0.1:6379/8"
    else:
        env["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
        env["Q_BROKER"] = "orm"
    return env


def fresh_database(args, env):
    if args.postgres:
        for sql in (f"DROP DATABASE IF EXISTS {PG_NAME}", f"CREATE DATABASE {PG_NAME}"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
        subprocess.run(["redis-cli", "-n", "8", "flushdb"], check=True, stdout=subprocess.DEVNULL)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(str(SQLITE_PATH) + suffix).unlink(missing_ok=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env={**os.environ, **env}, check=True)


def setup_django(env):
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare_fan_out(receiver, count):
    from django.contrib.auth import get_user_model

    from comms.models import StakeholderGroup, Subscriber
    from incidents import lifecycle
    from incidents.models import Service, SeverityDefinition

    # The incident itself must not send a first notice: the benchmark posts one update by hand.
    SeverityDefinition.objects.filter(severity="SEV2").update(inform_stakeholders=False)
    service = Service.objects.create(name="Checkout", slug="checkout")
    group = StakeholderGroup.objects.create(name="Everyone", min_severity="SEV2")
    Subscriber.objects.bulk_create(
        [Subscriber(group=group, kind="webhook", address=f"{receiver.url}/s/{n}") for n in range(count)],
        batch_size=2000,
    )
    author = get_user_model().objects.create(username="bench-author", first_name="Bench")
    incident = lifecycle.declare(service=service, title="Checkout answers 502", by=author, severity="SEV2")
    return incident, author


def run_fan_out(args, env, receiver):
    from django.db import close_old_connections

    from comms import status_updates
    from comms.models import Delivery

    incident, author = prepare_fan_out(receiver, args.subscribers)
    worker = subprocess.Popen(
        [PYTHON, "manage.py", "worker"],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(4)  # the worker's cluster starts and runs the incident's own follow-ups
        posted = time.time()
        update = status_updates.post(incident, phase="identified", message="Rolling back the release.", by=author)
        post_seconds = time.time() - posted
        queued_at = None
        deadline = posted + args.timeout
        while time.time() < deadline:
            close_old_connections()
            handed = Delivery.objects.filter(update=update, enqueued_at__isnull=False).count()
            if queued_at is None and handed >= args.subscribers:
                queued_at = time.time()
            if receiver.total() >= args.subscribers:
                break
            time.sleep(0.05)
        time.sleep(2)  # anything sent twice would arrive now
        delivered = receiver.total()
        statuses = dict(Counter(Delivery.objects.filter(update=update).values_list("status", flat=True)))
        duplicates = sum(1 for n in receiver.arrivals.values() if n > 1)
        delivery_seconds = receiver.last - posted if delivered else None
        return {
            "subscribers": args.subscribers,
            "post_seconds": round(post_seconds, 4),
            "queued_seconds": round(queued_at - posted, 3) if queued_at else None,
            "delivered": delivered,
            "delivered_seconds": round(delivery_seconds, 2) if delivery_seconds else None,
            "rate_per_second": round(delivered / delivery_seconds, 1) if delivery_seconds else None,
            "subscribers_reached_more_than_once": duplicates,
            "delivery_statuses": statuses,
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def prepare_history(services=50, days=90):
    """Public incidents: one every third day per service over `days`, the latest few still open."""
    from django.utils import timezone

    from comms.models import StatusUpdate
    from incidents.models import Incident, Service

    now = timezone.now()
    made = Service.objects.bulk_create(
        [Service(name=f"Service {n:02d}", slug=f"bench-service-{n:02d}") for n in range(services)]
    )
    start_number = (Incident.objects.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    incidents = []
    for index, service in enumerate(made):
        for day in range(index % 3, days, 3):
            created = now - timedelta(days=days - day, hours=-1)
            still_open = day >= days - 3
            incidents.append(
                Incident(
                    number=start_number + len(incidents),
                    service=service,
                    title=f"Slow responses on {service.name}",
                    severity=("SEV1", "SEV2", "SEV3")[day % 3],
                    status="triggered" if still_open else "resolved",
                    dedup_key=f"bench-{service.pk}-{day}",
                    created_at=created,
                    resolved_at=None if still_open else created + timedelta(hours=2),
                )
            )
    Incident.objects.bulk_create(incidents, batch_size=1000)
    saved = Incident.objects.filter(dedup_key__startswith="bench-")
    updates = []
    for incident in saved:
        updates.append(
            StatusUpdate(
                incident=incident, phase="investigating", message="We are **on it**.", posted_at=incident.created_at
            )
        )
        if incident.status == "resolved":
            updates.append(
                StatusUpdate(incident=incident, phase="resolved", message="Fixed.", posted_at=incident.resolved_at)
            )
    StatusUpdate.objects.bulk_create(updates, batch_size=1000)
    return {"services": services, "days": days, "incidents": len(incidents), "updates": len(updates)}


def run_status_page(renders=30):
    from django.db import connection
    from django.test import Client

    data = prepare_history()
    client = Client()
    client.get("/status/")  # warm the template and translation caches
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        response = client.get("/status/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    from django.test import RequestFactory

    from comms import status_views

    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        size = len(status_views.index(RequestFactory().get("/status/")).content)
    api_times = []
    for _ in range(10):
        started = time.perf_counter()
        assert client.get("/api/v1/status/").status_code == 200
        api_times.append((time.perf_counter() - started) * 1000)
    return {
        **data,
        "renders": renders,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(max(times), 1),
        "queries": len(executed),
        "html_bytes": size,
        "json_median_ms": round(statistics.median(api_times), 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis instead of SQLite + ORM broker")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for every delivery")
    args = parser.parse_args()

    env = environment(args)
    fresh_database(args, env)
    setup_django(env)
    receiver = Receiver()
    from django.db import connection

    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": connection.vendor,
        "broker": env["Q_BROKER"].split(":")[0],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "fan_out": run_fan_out(args, env, receiver),
        "status_page": run_status_page(),
    }
    print(json.dumps(report, indent=2))
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (results / f"comms-{connection.vendor}-{stamp}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
