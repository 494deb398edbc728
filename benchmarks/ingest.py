#!/usr/bin/env python
"""Ingestion benchmark: Piquet under gunicorn, N clients posting Events API v2 triggers.

    .venv/bin/python benchmarks/ingest.py                      # PostgreSQL, then SQLite
    .venv/bin/python benchmarks/ingest.py --databases postgres --duration 10

For each database it creates a fresh one (PostgreSQL: `piquet_bench`, dropped
and created again; SQLite: var/bench/piquet_bench.sqlite3), migrates, starts
gunicorn with benchmarks/bench_settings.py and measures, in one run:

  bare      a Django view that only parses the JSON and inserts one row: the ceiling
  max       closed loop: every client posts its next trigger when answered
            (dedup keys spread over --keys keys: mostly joins to open incidents)
  at80      open loop at 80 % of the `max` rate: p50/p99 latency when not saturated
  at240     open loop at 240 events/s, 80 % of the 300 events/s target
  storm     --storm-events triggers over --storm-keys dedup keys from --storm-clients
            clients; checks the exact incident and alert counts and that no 5xx came
  unique    closed loop, a new dedup key each time: new incidents (+ timeline) per second

Latency is measured by the client, from send (closed loop) or from the due time
(open loop) to the end of the answer. Peak RSS is sampled over gunicorn's master
and workers. The generator runs on the same cores as the server and the database:
its CPU time is reported with the rest. Raw results go to benchmarks/results/.
"""

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
import time
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
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="sync", help="sync (as docs/deployment.md advises) or gthread")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (max, at80, unique, bare)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per timed phase")
    parser.add_argument("--keys", type=int, default=100, help="dedup keys of the max and at80 phases")
    parser.add_argument("--storm-events", type=int, default=20_000)
    parser.add_argument("--storm-keys", type=int, default=50)
    parser.add_argument("--storm-clients", type=int, default=32)
    parser.add_argument("--log-level", default="INFO", help="Piquet's LOG_LEVEL in the server (default: as shipped)")
    parser.add_argument("--phases", default="bare,max,at80,at240,storm,unique")
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
        }
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
            f"--workers={self.args.workers}",
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
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
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


# --- phases -----------------------------------------------------------------------


def trigger_requests(port, routing_key, key_of, path="/v2/enqueue"):
    key = routing_key.encode()

    def request(index):
        dedup = key_of(index).encode()
        return _load.build_request(HOST, port, path, TRIGGER % (key, dedup, str(index).encode()))

    return request


def measured(server, label, requests, clients, **kwargs):
    pids = server.pids()
    postgres = server.database == "postgres"
    pg_before = postgres_backends(server.args.database_name) if postgres else {}
    server_cpu, busy = cpu_seconds(pids), machine_busy_seconds()
    result = _load.run(HOST, server.port, requests, clients, **kwargs)
    summary = result.summary()
    summary.update(
        phase=label,
        clients=clients,
        cpu_seconds={
            "gunicorn": round(cpu_seconds(pids) - server_cpu, 2),
            "postgres": (
                round(backend_cpu_delta(pg_before, postgres_backends(server.args.database_name)), 2)
                if postgres
                else None
            ),
            "generator": round(result.generator_cpu, 2),
            "machine": round(machine_busy_seconds() - busy, 2),
        },
    )
    cpu = summary["cpu_seconds"]
    own = cpu["gunicorn"] + (cpu["postgres"] or 0) + cpu["generator"]
    if summary["requests"]:
        summary["cpu_ms_per_request"] = round(1000 * own / summary["requests"], 2)
        # What the whole machine could do if nothing else ran on it.
        summary["idle_machine_rate"] = round(os.cpu_count() * summary["requests"] / own, 1) if own else None
    summary["share_of_busy_machine"] = round(own / cpu["machine"], 2) if cpu["machine"] else None
    if result.errors:
        summary["first_errors"] = result.errors[:3]
    print(
        f"  {label:7} {summary['rate']:8.1f}/s  p50 {summary['p50_ms']:6.1f} ms  p99 {summary['p99_ms']:6.1f} ms"
        f"  n={summary['requests']} statuses={summary['statuses']} errors={summary['errors']}"
        f"  cpu={summary['cpu_seconds']} {summary.get('cpu_ms_per_request')} ms/request"
        f" (we had {summary['share_of_busy_machine']:.0%} of the busy machine)",
        flush=True,
    )
    return summary


def run_database(database, args):
    print(f"== {database}", flush=True)
    server = Server(database, args)
    server.create_database()
    phases = args.phases.split(",")
    keys = server.manage("prepare", "warmup", "max", "at80", "storm", "unique")
    server.start()
    report = {"database": database, "phases": {}}
    try:
        port, clients = server.port, args.clients
        # Warm up every worker: imports, connections, caches.
        _load.run(HOST, port, trigger_requests(port, keys["warmup"], lambda i: f"w-{i % 20}"), clients, duration=2)
        _load.run(HOST, port, trigger_requests(port, keys["warmup"], str, path="/bench/insert"), clients, duration=1)

        if "bare" in phases:
            report["phases"]["bare"] = measured(
                server,
                "bare",
                trigger_requests(port, keys["warmup"], str, path="/bench/insert"),
                clients,
                duration=args.duration,
            )
        if "max" in phases or "at80" in phases:
            report["phases"]["max"] = measured(
                server,
                "max",
                trigger_requests(port, keys["max"], lambda i: f"max-{i % args.keys}"),
                clients,
                duration=args.duration,
            )
        if "at80" in phases:
            rate = 0.8 * report["phases"]["max"]["rate"]
            report["phases"]["at80"] = measured(
                server,
                "at80",
                trigger_requests(port, keys["at80"], lambda i: f"at80-{i % args.keys}"),
                clients,
                duration=args.duration,
                rate=rate,
            )
            report["phases"]["at80"]["target_rate"] = round(rate, 1)
        if "at240" in phases:
            report["phases"]["at240"] = measured(
                server,
                "at240",
                trigger_requests(port, keys["at80"], lambda i: f"at240-{i % args.keys}"),
                clients,
                duration=args.duration,
                rate=TARGET_RATE * 0.8,
            )
        if "storm" in phases:
            report["phases"]["storm"] = measured(
                server,
                "storm",
                trigger_requests(port, keys["storm"], lambda i: f"storm-{i % args.storm_keys}"),
                args.storm_clients,
                total=args.storm_events,
            )
        if "unique" in phases:
            report["phases"]["unique"] = measured(
                server,
                "unique",
                trigger_requests(port, keys["unique"], lambda i: f"unique-{i}"),
                clients,
                duration=args.duration,
            )
    finally:
        server.stop()
    report["peak_rss_mb"] = {
        "gunicorn_total": round(server.sampler.peak_total_kb / 1024, 1),
        "largest_worker": round(server.sampler.peak_worker_kb / 1024, 1),
    }
    report["counts"] = server.manage("counts", "max", "at80", "storm", "unique")
    report["server"] = {
        "workers": args.workers,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "log_level": args.log_level,
    }
    report["checks"] = checks(report, args)
    for name, (ok, detail) in report["checks"].items():
        print(f"  {'PASS' if ok else 'FAIL'} {name}: {detail}")
    print(f"  peak RSS {report['peak_rss_mb']}", flush=True)
    return report


def checks(report, args):
    phases, counts, found = report["phases"], report["counts"], {}

    def accepted(phase):
        return phases[phase]["statuses"].get("202", 0)

    if "max" in phases:
        rate = phases["max"]["rate"]
        found["max rate >= 300 events/s"] = (rate >= 300, f"{rate:.0f}/s")
        found["max: every event kept"] = (
            counts["max"]["alerts"] == accepted("max") == phases["max"]["requests"],
            f"{counts['max']['alerts']} alerts for {phases['max']['requests']} requests",
        )
    if "bare" in phases and "max" in phases:
        share = phases["max"]["rate"] / phases["bare"]["rate"]
        found[">= 60 % of the bare-insert ceiling"] = (share >= 0.6, f"{share:.0%} of {phases['bare']['rate']:.0f}/s")
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
        found[">= 100 new incidents/s"] = (
            created >= 100 and counted["incidents"] == accepted("unique") == counted["timeline_entries"],
            f"{created:.0f}/s ({counted['incidents']} incidents, {counted['timeline_entries']} timeline entries, "
            f"numbers span {counted['number_span']})",
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
