"""Paging latency: trigger → first page, and how late an escalation step fires.

    .venv/bin/python benchmarks/paging.py                 # SQLite + ORM broker (the embedded default)
    .venv/bin/python benchmarks/paging.py --postgres      # PostgreSQL + Redis
    .venv/bin/python benchmarks/paging.py --incidents 100 --rate 10

Starts Piquet for real (gunicorn + `manage.py worker`) on a fresh database,
with a policy whose step 1 pages Alice and step 2 (after 1 minute) pages Bob,
both by webhook to a receiver in this process. Triggers N incidents through
the Events API, then measures at the receiver:

- trigger → first page: from the 202 answer to the page's arrival;
- step timing error: from step 2's due time (stored in the database) to the
  arrival of Bob's page.

Prints a JSON report; docs/benchmarks.md keeps the latest numbers.
"""

import argparse
import contextlib
import http.server
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class Receiver:
    """Records when each page arrives, by person and incident number."""

    def __init__(self):
        self.arrivals = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                now = time.time()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = (self.path.strip("/"), body["incident"]["number"])
                with receiver.lock:
                    receiver.arrivals.setdefault(key, []).append(now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def environment(args, web_port):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "SECRET_KEY": "piquet-tests-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
        "PIQUET_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "DEBUG": "0",
        "PIQUET_BASE_URL": f"http://127.0.0.1:{web_port}",
        "Q_CLUSTER_NAME": f"piquet-bench-{os.getpid()}",
        "LOG_LEVEL": "WARNING",
        "EMAIL_URL": "consolemail://",
    }
    if args.postgres:
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/piquet_bench_paging"
        env["Q_BROKER"] = "redis://127.0.0.1:6379/7"
    else:
        env["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench-paging.sqlite3'}"
        env["Q_BROKER"] = "orm"
    return env


def fresh_database(args, env):
    if args.postgres:
        for sql in ("DROP DATABASE IF EXISTS piquet_bench_paging", "CREATE DATABASE piquet_bench_paging"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
        subprocess.run(["redis-cli", "-n", "7", "flushdb"], check=True, stdout=subprocess.DEVNULL)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(str(ROOT / "var" / "bench-paging.sqlite3") + suffix).unlink(missing_ok=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


SETUP = """
from django.contrib.auth import get_user_model
from people.models import ContactMethod, NotificationRule
from incidents.models import Integration, Service
from rotations.models import EscalationPolicy, EscalationStep
User = get_user_model()
policy = EscalationPolicy.objects.create(name="bench")
for position, name in enumerate(["alice", "bob"]):
    user = User.objects.create(username=name, email=f"{name}@example.com")
    method = ContactMethod.objects.create(user=user, kind="webhook", address=RECEIVER + "/" + name)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)
    EscalationStep.objects.create(policy=policy, position=position, escalate_after_minutes=1).users.add(user)
service = Service.objects.create(name="Bench", slug="bench", escalation_policy=policy)
print(Integration.objects.create(service=service, name="bench").key)
"""

DUE_TIMES = """
import json
from incidents.models import Escalation
chains = Escalation.objects.select_related("incident")
print(json.dumps({str(e.incident.number): e.next_at.timestamp() for e in chains}))
"""


def django_shell(env, code):
    result = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[-1]


def start(env, command):
    return subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_http(url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def post_trigger(port, key, number):
    body = json.dumps(
        {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": f"bench-{number}",
            "payload": {"summary": f"bench incident {number}", "source": "bench", "severity": "critical"},
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/enqueue", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    return time.time()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis instead of SQLite + ORM broker")
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="triggers per second")
    args = parser.parse_args()

    receiver = Receiver()
    web_port = free_port()
    env = environment(args, web_port)
    fresh_database(args, env)
    key = django_shell(env, f"RECEIVER = {receiver.url!r}\n" + SETUP)
    processes = [
        start(env, [PYTHON, "-m", "gunicorn", "project.wsgi", "-w", "2", "-b", f"127.0.0.1:{web_port}"]),
        start(env, [PYTHON, "manage.py", "worker"]),
    ]
    try:
        wait_http(f"http://127.0.0.1:{web_port}/healthz")
        time.sleep(3)  # the worker's cluster starts
        accepted = {}
        # Incident numbers follow the order of the triggers on a fresh database.
        for number in range(1, args.incidents + 1):
            accepted[number] = post_trigger(web_port, key, number)
            time.sleep(1 / args.rate)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len([k for k in receiver.arrivals if k[0] == "alice"]) < args.incidents:
            time.sleep(0.1)
        due = {int(k): v for k, v in json.loads(django_shell(env, DUE_TIMES)).items()}
        last_due = max(due.values())
        while time.time() < last_due + 10 and len([k for k in receiver.arrivals if k[0] == "bob"]) < args.incidents:
            time.sleep(0.2)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        time.sleep(1)
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    first = [receiver.arrivals[("alice", n)][0] - accepted[n] for n in accepted if ("alice", n) in receiver.arrivals]
    step = [receiver.arrivals[("bob", n)][0] - due[n] for n in due if ("bob", n) in receiver.arrivals]
    duplicates = sum(len(v) - 1 for v in receiver.arrivals.values())
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": "PostgreSQL + Redis" if args.postgres else "SQLite + ORM broker",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "incidents": args.incidents,
        "first_pages_received": len(first),
        "second_pages_received": len(step),
        "duplicate_pages": duplicates,
        "trigger_to_first_page_s": {"p50": percentile(first, 50), "p95": percentile(first, 95), "max": max(first)},
        "step_timing_error_s": {"p50": percentile(step, 50), "p99": percentile(step, 99), "max": max(step)},
        "mean_first_page_s": statistics.fmean(first),
    }
    print(json.dumps(report, indent=2))
    ok = (
        len(first) == len(step) == args.incidents
        and duplicates == 0
        and report["trigger_to_first_page_s"]["p95"] < 1.0
        and report["step_timing_error_s"]["p99"] < 2.0
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
