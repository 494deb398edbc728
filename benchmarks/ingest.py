#!/usr/bin/env python
"""Ingestion benchmark: Piquet under gunicorn, N clients posting Events API v2 and Alertmanager notifications.

    .venv/bin/python benchmarks/ingest.py                      # PostgreSQL + Redis, then SQLite + ORM broker
    .venv/bin/python benchmarks/ingest.py --databases postgres --duration 10

For each database it creates a fresh one (PostgreSQL: `piquet_bench`, dropped
and created again; SQLite: var/bench/piquet_bench.sqlite3), migrates, starts
gunicorn with benchmarks/bench_settings.py and measures, in one run:

  PHASE:bare  a Django view that only parses the JSON and inserts one row (the ceiling),
            posted bodies of the phase's shape in --slices slices alternating with the phase's
  max       closed loop: every client posts its next trigger when answered
            (dedup keys spread over --keys keys: mostly joins to open incidents)
  at80      open loop at 80 % of the `max` rate: p50/p99 latency when not saturated
  at240     open loop at 240 events/s, 80 % of the 300 events/s target
  storm     --storm-events triggers over --storm-keys dedup keys from --storm-clients
            clients; checks the exact incident and alert counts and that no 5xx came
  unique    closed loop, a new dedup key each time: new incidents (+ timeline and
            escalation rows: the service has a call chain) per second
  unique-nochain  the same for a service without a call chain
  am-grow   Alertmanager: --am-groups groups already holding --am-history alerts;
            each notification carries its group's newest --am-window alerts, one of them new
  am-grow1  the same into one single group (every request waits for the same row lock)
  am-redeliver   --am-redeliver-groups unchanged groups of --am-group-size alerts
                 (about 50 KB each) delivered again, as every group_interval
  am-redeliver1  the same with one single group

Each Piquet phase is compared with the bare view posting bodies of the same
shape in the same run (`ratio`). A request not answered within --timeout
seconds counts as a client time-out (Alertmanager's default is 10 s; the issue
asks for 2 s). Latency is measured by the client, from send (closed loop) or
from the due time (open loop) to the end of the answer. Peak RSS is sampled
over gunicorn's master and workers. The generator runs on the same cores as
the server and the database: its CPU time is reported with the rest. Raw
results go to benchmarks/results/.
"""

import argparse
import itertools
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import _load  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
HOST = "127.0.0.1"
RESULTS = ROOT / "benchmarks" / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TARGET_RATE = 300  # events/s the issue asks for
ALL_PHASES = ("max", "at80", "at240", "storm", "unique", "unique-nochain", "am-grow", "am-grow1", "am-redeliver")
ALL_PHASES += ("am-redeliver1",)
# The lowest rate of each phase, PostgreSQL and SQLite, as a share of the bare view's with bodies of the same
# shape, measured in slices alternating with the phase's (`PHASE:bare`).
RATIO_TARGETS = {
    "max": (0.7, 0.8),
    "unique": (0.35, 0.45),
    "unique-nochain": (None, None),  # no target: shows what the call chain costs a new incident
    "am-grow": (0.5, 0.5),
    "am-redeliver": (0.3, 0.3),
    "am-grow1": (0.15, 0.15),
    "am-redeliver1": (0.15, 0.15),
}

TRIGGER = (
    b'{"routing_key": "%s", "event_action": "trigger", "dedup_key": "%s", '
    b'"payload": {"summary": "High error rate on checkout (%s)", "source": "web-3.prod", '
    b'"severity": "error", "component": "nginx", "group": "prod", '
    b'"custom_details": {"error_rate": 0.42, "threshold": 0.05}}}'
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="postgres,sqlite", help="comma-separated: postgres, sqlite")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server URL, no database")
    parser.add_argument("--database-name", default="piquet_bench")
    parser.add_argument("--app", default="project.wsgi:application", help="WSGI application gunicorn serves")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: a free one)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="the task broker of PostgreSQL runs")
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn worker processes (default: 4 on PostgreSQL, 2 on SQLite)"
    )
    parser.add_argument("--worker-class", default="sync", help="sync (as docs/deployment.md advises) or gthread")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (every phase but storm)")
    parser.add_argument("--timeout", type=float, default=2.0, help="client time-out, seconds")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per timed phase")
    parser.add_argument("--slices", type=int, default=6, help="alternating slices of a phase and its bare view")
    parser.add_argument("--keys", type=int, default=100, help="dedup keys of the max and at80 phases")
    parser.add_argument("--storm-events", type=int, default=20_000)
    parser.add_argument("--storm-keys", type=int, default=50)
    parser.add_argument("--storm-clients", type=int, default=32)
    parser.add_argument("--am-groups", type=int, default=100)
    parser.add_argument("--am-history", type=int, default=300, help="alerts each am-grow group holds at the start")
    parser.add_argument("--am-window", type=int, default=20, help="alerts per am-grow notification")
    parser.add_argument("--am-redeliver-groups", type=int, default=20)
    parser.add_argument("--am-group-size", type=int, default=200)
    parser.add_argument("--log-level", default="INFO", help="Piquet's LOG_LEVEL in the server (default: as shipped)")
    parser.add_argument("--phases", default=",".join(ALL_PHASES))
    return parser.parse_args()


# --- the machine and its processes --------------------------------------------


def machine_notes():
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    postgres = subprocess.run(
        ["psql", "-h", HOST, "-U", "postgres", "-tAc", "SHOW server_version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(int(meminfo) / 1024 / 1024, 1),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "postgres": postgres,
        "kernel": platform.release(),
    }


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def children_of(pid):
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def process_tree(pid):
    pids = [pid]
    for child in children_of(pid):
        pids += process_tree(child)
    return pids


def rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def machine_busy_seconds():
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def postgres_backends(database_name):
    """CPU seconds so far of each PostgreSQL backend serving `database_name`."""
    output = subprocess.run(
        [
            "psql",
            "-h",
            HOST,
            "-U",
            "postgres",
            "-tAc",
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{database_name}' AND pid <> pg_backend_pid()",  # noqa: S608
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {int(pid): cpu_seconds([int(pid)]) for pid in output.split()}


def backend_cpu_delta(before, after):
    # Backends that ended during the phase are not counted: CONN_MAX_AGE keeps them open.
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


class RssSampler(threading.Thread):
    def __init__(self, pid, interval=0.25):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_total_kb = 0
        self.peak_worker_kb = 0
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            pids = process_tree(self.pid)
            sizes = [rss_kb(p) for p in pids]
            self.peak_total_kb = max(self.peak_total_kb, sum(sizes))
            self.peak_worker_kb = max([self.peak_worker_kb] + sizes[1:])
            self.stop_event.wait(self.interval)

    def stop(self):
        self.stop_event.set()
        self.join()


# --- the server under test ------------------------------------------------------


class Server:
    def __init__(self, database, args):
        self.database, self.args = database, args
        self.port = args.port or free_port()
        self.workdir = ROOT / "var" / "bench"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"gunicorn-{database}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
            "DATABASE_URL": self.database_url(),
            "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "DEBUG": "0",
            "ALLOWED_HOSTS": HOST,
            "LOG_LEVEL": args.log_level,
            "PYTHONDONTWRITEBYTECODE": "1",
            # PostgreSQL with Redis, SQLite with the ORM broker (the embedded default); a queue nobody consumes.
            "Q_BROKER": args.redis if database == "postgres" else "orm",
            "Q_CLUSTER_NAME": "piquet-bench-ingest",
        }
        self.workers = args.workers or (4 if database == "postgres" else 2)
        self.process = None

    def database_url(self):
        if self.database == "postgres":
            return f"{self.args.postgres}/{self.args.database_name}"
        return f"sqlite:///{self.workdir / (self.args.database_name + '.sqlite3')}"

    def create_database(self):
        if self.database == "postgres":
            import psycopg

            with psycopg.connect(f"{self.args.postgres}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.args.database_name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{self.args.database_name}"')
        else:
            for suffix in ("", "-journal", "-wal", "-shm"):
                path = self.workdir / f"{self.args.database_name}.sqlite3{suffix}"
                path.unlink(missing_ok=True)
        subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=self.env, check=True)
        if self.database == "postgres":
            import redis

            # The tasks that new incidents queued in an earlier run (nobody consumes this queue).
            redis.Redis.from_url(self.args.redis).delete(f"django_q:{self.env['Q_CLUSTER_NAME']}:q")

    def manage(self, *args):
        output = subprocess.run(
            [PYTHON, str(ROOT / "benchmarks" / "_bench_db.py"), *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return json.loads(output.strip().splitlines()[-1])

    def start(self):
        command = [
            GUNICORN,
            self.args.app,
            f"--bind={HOST}:{self.port}",
            f"--workers={self.workers}",
            f"--worker-class={self.args.worker_class}",
            f"--threads={self.args.threads}",
            "--backlog=2048",
            "--keep-alive=5",
            f"--error-logfile={self.log_path}",
            "--log-level=warning",
        ]
        self.log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log_file, stderr=self.log_file)
        deadline = time.monotonic() + 30
        while True:
            try:
                # Any answer will do: without a worker, /healthz says 503.
                urllib.request.urlopen(f"http://{HOST}:{self.port}/healthz", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.terminate()
                self.process.wait(timeout=15)
                raise SystemExit(f"gunicorn did not start; see {self.log_path}")
            time.sleep(0.2)
        # Every worker should be up before measuring.
        time.sleep(1.0)
        self.sampler = RssSampler(self.process.pid)
        self.sampler.start()

    def pids(self):
        return process_tree(self.process.pid)

    def stop(self):
        if self.process is None:
            return
        self.sampler.stop()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_file.close()


# --- the bodies ---------------------------------------------------------------------


def trigger_requests(port, routing_key, key_of, path="/v2/enqueue"):
    key = routing_key.encode()

    def request(index):
        dedup = key_of(index).encode()
        return _load.build_request(HOST, port, path, TRIGGER % (key, dedup, str(index).encode()))

    return request


def am_alert(group, number):
    """One firing alert as Alertmanager's webhook sends it (about 250 bytes)."""
    pod = f"api-{number:05d}"
    return {
        "status": "firing",
        "labels": {"alertname": "CrashLoop", "namespace": f"shop-{group}", "pod": pod},
        "annotations": {"summary": f"{pod} restarts"},
        "startsAt": "2026-12-01T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": f"{group:04x}{number:012x}",
    }


def am_body(group, numbers):
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{namespace="shop-{group}"}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "piquet",
            "groupLabels": {"namespace": f"shop-{group}"},
            "commonLabels": {"alertname": "CrashLoop", "namespace": f"shop-{group}"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [am_alert(group, n) for n in numbers],
        },
        separators=(",", ":"),
    ).encode()


def am_path(key):
    return f"/api/v1/integrations/{key}/alertmanager/"


def am_grow_requests(port, key, groups, history, window, path=None):
    """Request i adds alert number `history + i // groups` to group `i % groups`, with the window before it."""
    path = path or am_path(key)

    def request(index):
        group, newest = index % groups, history + index // groups
        return _load.build_request(HOST, port, path, am_body(group, range(newest - window + 1, newest + 1)))

    return request


def am_redeliver_requests(port, key, groups, size, path=None):
    """Request i delivers group `i % groups` again, unchanged (built once)."""
    path = path or am_path(key)
    built = [_load.build_request(HOST, port, path, am_body(group, range(size))) for group in range(groups)]
    return lambda index: built[index % groups]


def prefill(port, key, groups, size):
    """Unmeasured: each group's first notification, holding `size` alerts."""
    requests = am_redeliver_requests(port, key, groups, size)
    result = _load.run(HOST, port, requests, min(groups, 4), total=groups, timeout=60)
    if result.statuses != {202: groups}:
        raise SystemExit(f"prefill failed: {result.statuses} {result.errors[:3]}")


# --- phases -----------------------------------------------------------------------


def measure_slice(server, requests, clients, **kwargs):
    """One load run, and the CPU seconds spent meanwhile by gunicorn, PostgreSQL, the generator and the machine."""
    pids = server.pids()
    postgres = server.database == "postgres"
    pg_before = postgres_backends(server.args.database_name) if postgres else {}
    server_cpu, busy = cpu_seconds(pids), machine_busy_seconds()
    result = _load.run(HOST, server.port, requests, clients, timeout=server.args.timeout, **kwargs)
    cpu = {
        "gunicorn": cpu_seconds(pids) - server_cpu,
        "postgres": backend_cpu_delta(pg_before, postgres_backends(server.args.database_name)) if postgres else None,
        "generator": result.generator_cpu,
        "machine": machine_busy_seconds() - busy,
    }
    return result, cpu


def summarize(label, slices, clients):
    result = _load.merge([result for result, _ in slices])
    summary = result.summary()
    cpu = {
        name: None if slices[0][1][name] is None else round(sum(c[name] for _, c in slices), 2) for name in slices[0][1]
    }
    summary.update(phase=label, clients=clients, slices=len(slices), cpu_seconds=cpu)
    own = cpu["gunicorn"] + (cpu["postgres"] or 0) + cpu["generator"]
    if summary["requests"]:
        summary["cpu_ms_per_request"] = round(1000 * own / summary["requests"], 2)
        # What the whole machine could do if nothing else ran on it.
        summary["idle_machine_rate"] = round(os.cpu_count() * summary["requests"] / own, 1) if own else None
    summary["share_of_busy_machine"] = round(own / cpu["machine"], 2) if cpu["machine"] else None
    if result.errors:
        summary["first_errors"] = result.errors[:3]
    print(
        f"  {label:18} {summary['rate']:8.1f}/s  p50 {summary['p50_ms']:6.1f} ms  p99 {summary['p99_ms']:6.1f} ms"
        f"  n={summary['requests']} statuses={summary['statuses']} errors={summary['errors']}"
        f" timeouts={summary['timeouts']}  cpu={summary['cpu_seconds']} {summary.get('cpu_ms_per_request')} ms/request"
        f" (we had {summary['share_of_busy_machine']:.0%} of the busy machine)",
        flush=True,
    )
    return summary


def measured(server, label, requests, clients, **kwargs):
    return summarize(label, [measure_slice(server, requests, clients, **kwargs)], clients)


def continuing(requests):
    """`requests` numbered on from one run to the next (new keys stay new, growing groups go on growing)."""
    counter = itertools.count()
    return lambda _index: requests(next(counter))


def interleaved(server, label, requests, bare_requests, clients, duration, slices):
    """The phase and the bare view with bodies of the same shape, in alternating slices (bare, phase, phase,
    bare, …), so that what else the machine does at the time weighs on both alike."""
    requests, bare_requests = continuing(requests), continuing(bare_requests)
    mine, bare = [], []
    for index in range(slices):
        order = [(bare, bare_requests), (mine, requests)]
        for sink, source in order if index % 2 == 0 else reversed(order):
            sink.append(measure_slice(server, source, clients, duration=duration / slices))
    return summarize(label, mine, clients), summarize(f"{label}:bare", bare, clients)


PREPARED = ("warmup", "max", "at80", "storm", "unique+chain", "unique-nochain", "am-warmup", "am-grow", "am-grow1")
PREPARED += ("am-redeliver",)
PREPARED += ("am-redeliver1",)
COUNTED = ("max", "at80", "storm", "unique", "unique-nochain", "am-grow", "am-grow1", "am-redeliver", "am-redeliver1")


def run_database(database, args):
    print(f"== {database}", flush=True)
    server = Server(database, args)
    server.create_database()
    phases = args.phases.split(",")
    keys = server.manage("prepare", *PREPARED)
    server.start()
    report = {"database": database, "phases": {}}
    measures = report["phases"]
    port, clients, duration = server.port, args.clients, args.duration
    groups, history, window = args.am_groups, args.am_history, args.am_window
    redeliver_groups, size = args.am_redeliver_groups, args.am_group_size
    bare_am20 = am_grow_requests(port, keys["am-warmup"], groups, history, window, path="/bench/insert")
    bare_am200 = am_redeliver_requests(port, keys["am-warmup"], redeliver_groups, size, path="/bench/insert")
    try:
        # Warm up every worker: imports, connections, caches.
        _load.run(HOST, port, trigger_requests(port, keys["warmup"], lambda i: f"w-{i % 20}"), clients, duration=2)
        _load.run(HOST, port, trigger_requests(port, keys["warmup"], str, path="/bench/insert"), clients, duration=1)
        _load.run(HOST, port, am_grow_requests(port, keys["am-warmup"], 20, 20, 10), clients, duration=1)

        def phase(label, requests, bare=None, **kwargs):
            if bare is None:
                measures[label] = measured(server, label, requests, kwargs.pop("clients", clients), **kwargs)
            else:
                measures[label], measures[f"{label}:bare"] = interleaved(
                    server, label, requests, bare, clients, duration, args.slices
                )
            return measures[label]

        bare_events = trigger_requests(port, keys["warmup"], str, path="/bench/insert")
        if "max" in phases or "at80" in phases:
            requests = trigger_requests(port, keys["max"], lambda i: f"max-{i % args.keys}")
            phase("max", requests, bare=bare_events)
        if "unique" in phases:
            phase("unique", trigger_requests(port, keys["unique"], lambda i: f"unique-{i}"), bare=bare_events)
        if "unique-nochain" in phases:
            requests = trigger_requests(port, keys["unique-nochain"], lambda i: f"nochain-{i}")
            phase("unique-nochain", requests, bare=bare_events)
        if "at80" in phases:
            rate = 0.8 * measures["max"]["rate"]
            requests = trigger_requests(port, keys["at80"], lambda i: f"at80-{i % args.keys}")
            phase("at80", requests, duration=duration, rate=rate)["target_rate"] = round(rate, 1)
        if "at240" in phases:
            requests = trigger_requests(port, keys["at80"], lambda i: f"at240-{i % args.keys}")
            phase("at240", requests, duration=duration, rate=TARGET_RATE * 0.8)
        if "storm" in phases:
            requests = trigger_requests(port, keys["storm"], lambda i: f"storm-{i % args.storm_keys}")
            phase("storm", requests, clients=args.storm_clients, total=args.storm_events)

        if "am-grow" in phases:
            prefill(port, keys["am-grow"], groups, history)
            phase("am-grow", am_grow_requests(port, keys["am-grow"], groups, history, window), bare=bare_am20)
        if "am-grow1" in phases:
            prefill(port, keys["am-grow1"], 1, history)
            phase("am-grow1", am_grow_requests(port, keys["am-grow1"], 1, history, window), bare=bare_am20)
        if "am-redeliver" in phases:
            prefill(port, keys["am-redeliver"], redeliver_groups, size)
            requests = am_redeliver_requests(port, keys["am-redeliver"], redeliver_groups, size)
            phase("am-redeliver", requests, bare=bare_am200)
        if "am-redeliver1" in phases:
            prefill(port, keys["am-redeliver1"], 1, size)
            phase("am-redeliver1", am_redeliver_requests(port, keys["am-redeliver1"], 1, size), bare=bare_am200)
    finally:
        server.stop()
    for label in RATIO_TARGETS:
        if label in measures:
            measures[label]["ratio"] = round(measures[label]["rate"] / measures[f"{label}:bare"]["rate"], 3)
    report["peak_rss_mb"] = {
        "gunicorn_total": round(server.sampler.peak_total_kb / 1024, 1),
        "largest_worker": round(server.sampler.peak_worker_kb / 1024, 1),
    }
    report["counts"] = server.manage("counts", *COUNTED)
    report["server"] = {
        "workers": server.workers,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "log_level": args.log_level,
        "broker": server.env["Q_BROKER"],
    }
    report["checks"] = checks(report, args)
    for name, (ok, detail) in report["checks"].items():
        print(f"  {'PASS' if ok else 'FAIL'} {name}: {detail}")
    print(f"  peak RSS {report['peak_rss_mb']}", flush=True)
    return report


def checks(report, args):
    phases, counts, found = report["phases"], report["counts"], {}
    column = 0 if report["database"] == "postgres" else 1

    def accepted(phase):
        return phases[phase]["statuses"].get("202", 0)

    for label, measure in phases.items():
        if not label.endswith(":bare"):
            clean = measure["statuses"] == {"202": measure["requests"]} and not measure["errors"]
            found[f"{label}: only 202, no time-out"] = (
                clean and not measure["timeouts"],
                f"statuses {measure['statuses']}, {measure['errors']} errors, {measure['timeouts']} time-outs",
            )
    for label, target in RATIO_TARGETS.items():
        if "ratio" in phases.get(label, {}) and target[column] is not None:
            ratio = phases[label]["ratio"]
            found[f"{label}: >= {target[column]} of the bare view"] = (
                ratio >= target[column],
                f"{ratio:.2f} ({phases[label]['rate']:.0f}/s against {phases[label + ':bare']['rate']:.0f}/s)",
            )
    if "max" in phases:
        rate = phases["max"]["rate"]
        found["max rate >= 300 events/s"] = (rate >= 300, f"{rate:.0f}/s")
        found["max: every event kept"] = (
            counts["max"]["alerts"] == accepted("max") == phases["max"]["requests"],
            f"{counts['max']['alerts']} alerts for {phases['max']['requests']} requests",
        )
    if "at240" in phases:
        p99 = phases["at240"]["p99_ms"]
        found["p99 < 100 ms at 80 % of the 300/s target"] = (
            p99 < 100,
            f"p99 {p99} ms at {phases['at240']['rate']:.0f}/s",
        )
    if "at80" in phases:
        p99 = phases["at80"]["p99_ms"]
        found["p99 < 100 ms at 80 % rate"] = (p99 < 100, f"p99 {p99} ms at {phases['at80']['rate']:.0f}/s")
    if "storm" in phases:
        storm, counted = phases["storm"], counts["storm"]
        ok = (
            counted["open"] == args.storm_keys
            and counted["incidents"] == args.storm_keys
            and counted["alerts"] == args.storm_events
            and counted["alert_count_sum"] == args.storm_events
            and storm["statuses"] == {"202": args.storm_events}
            and storm["errors"] == 0
        )
        found[f"storm: {args.storm_keys} open incidents, {args.storm_events:,} alerts, no 5xx"] = (
            ok,
            f"{counted['open']} open / {counted['incidents']} incidents, {counted['alerts']} alerts, "
            f"statuses {storm['statuses']}, {storm['rate']:.0f}/s",
        )
    if "unique" in phases:
        unique, counted = phases["unique"], counts["unique"]
        created = counted["incidents"] / unique["seconds"]
        found[">= 100 new incidents/s, each with its escalation"] = (
            created >= 100
            and counted["incidents"] == accepted("unique") == counted["escalations"]
            and counted["timeline_entries"] == 2 * counted["incidents"],
            f"{created:.0f}/s ({counted['incidents']} incidents, {counted['escalations']} escalations, "
            f"{counted['timeline_entries']} timeline entries, numbers span {counted['number_span']})",
        )
    for label, groups, first in (
        ("am-grow", args.am_groups, args.am_history),
        ("am-grow1", 1, args.am_history),
        ("am-redeliver", args.am_redeliver_groups, args.am_group_size),
        ("am-redeliver1", 1, args.am_group_size),
    ):
        if label not in phases:
            continue
        added = phases[label]["requests"] if "grow" in label else 0
        counted, expected = counts[label], groups * first + added
        found[f"{label}: {groups} open incidents, every alert once and counted"] = (
            counted["open"] == counted["incidents"] == groups
            and counted["alerts"] == counted["alert_count_sum"] == expected,
            f"{counted['open']} open / {counted['incidents']} incidents, {counted['alerts']} alerts "
            f"(expected {expected}), alert_count sum {counted['alert_count_sum']}",
        )
    return found


def main():
    args = parse_args()
    if not shutil.which(GUNICORN):
        raise SystemExit("gunicorn is not installed in .venv (pip install -r requirements.txt)")
    results = {"machine": machine_notes(), "runs": []}
    print(json.dumps(results["machine"]))
    for database in args.databases.split(","):
        results["runs"].append(run_database(database.strip(), args))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"results: {path}")
    failed = [name for run in results["runs"] for name, (ok, _) in run["checks"].items() if not ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
