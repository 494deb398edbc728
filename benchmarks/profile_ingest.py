#!/usr/bin/env python
"""Where a request's Python time goes: Events API v2 triggers through Django's WSGI handler, under cProfile.

    .venv/bin/python benchmarks/profile_ingest.py                         # PostgreSQL + Redis, new key each
    .venv/bin/python benchmarks/profile_ingest.py --database sqlite       # SQLite + ORM broker
    .venv/bin/python benchmarks/profile_ingest.py --phase max             # triggers over 100 keys: joins
    .venv/bin/python benchmarks/profile_ingest.py --bare                  # the bare view, for comparison
    .venv/bin/python benchmarks/profile_ingest.py --no-profile            # CPU ms / request only
    .venv/bin/python benchmarks/profile_ingest.py --database sqlite --hold  # only while the write lock is held

No HTTP server and no client: each request is a WSGI environ handed to the
handler gunicorn would call, so what is measured is Django's and Piquet's
Python (and the database's round trips, in wall time). The database is
created and migrated on the first run (PostgreSQL `piquet_prof`, SQLite
var/bench/piquet_prof.sqlite3) and prepared as `benchmarks/ingest.py` does
(the `unique` service has a one-step call chain). Logs go to /dev/null,
formatted as in production.
"""

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRIGGER = (
    '{"routing_key": "%s", "event_action": "trigger", "dedup_key": "%s", '
    '"payload": {"summary": "High error rate on checkout (%s)", "source": "web-3.prod", '
    '"severity": "error", "component": "nginx", "group": "prod", '
    '"custom_details": {"error_rate": 0.42, "threshold": 0.05}}}'
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/piquet_prof")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--phase", default="unique", help="unique (with a call chain), unique-nochain or max (triggers over 100 keys)"
    )
    parser.add_argument("--bare", action="store_true", help="post to the bare view instead")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--cpu", action="store_true", help="profile CPU time (waits on the database not counted)")
    parser.add_argument("--tree", action="store_true", help="sample with pyinstrument (wall time): a call tree")
    parser.add_argument(
        "--hold", action="store_true", help="SQLite: time and profile only what runs while the write lock is held"
    )
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--output", help="also write the raw profile here (for snakeviz, pstats)")
    return parser.parse_args()


def environment(args):
    database = args.postgres if args.database == "postgres" else f"sqlite:///{ROOT / 'var/bench/piquet_prof.sqlite3'}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
            "DATABASE_URL": database,
            "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "INFO",
            "Q_BROKER": args.redis if args.database == "postgres" else "orm",
            "Q_CLUSTER_NAME": "piquet-profile-ingest",
        }
    )
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    if args.database == "postgres":
        import psycopg

        server, name = args.postgres.rsplit("/", 1)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, check=True)


def environ_for(path, body):
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _time_the_lock(holds, profile):
    """Record how long each transaction holds SQLite's write lock (see project/sqlite3/base.py), profiling only
    that time."""
    from project.sqlite3.base import DatabaseWrapper

    take, give_back = DatabaseWrapper._start_transaction_under_autocommit, DatabaseWrapper._open_gate
    taken = []

    def start(self):
        take(self)
        taken.append(time.perf_counter())
        if profile:
            profile.enable()

    def open_gate(self):
        if self.holds_gate and taken:
            if profile:
                profile.disable()
            holds.append(time.perf_counter() - taken.pop())
        give_back(self)

    DatabaseWrapper._start_transaction_under_autocommit, DatabaseWrapper._open_gate = start, open_gate


def main():
    args = parse_args()
    environment(args)
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the logs' handler writes here, formatted, until exit)
    from django.core.handlers.wsgi import WSGIHandler

    from benchmarks import _bench_db  # sets Django up

    phase = args.phase + ("+chain" if args.phase == "unique" else "")
    key = _bench_db.prepare([phase])[args.phase]
    handler = WSGIHandler()
    path = "/bench/insert" if args.bare else "/v2/enqueue"
    run = f"{time.time_ns():x}"
    statuses = {}

    def post(index):
        dedup_key = f"prof-{run}-{index % 100 if args.phase == 'max' else index}"
        body = (TRIGGER % (key, dedup_key, index)).encode()
        status = []
        chunks = handler(environ_for(path, body), lambda s, headers, exc_info=None: status.append(s))
        b"".join(chunks)
        chunks.close()
        statuses[status[0]] = statuses.get(status[0], 0) + 1

    for index in range(50):  # warm up: imports, the connection, the caches
        post(-1 - index)
    profile = sampler = None
    holds = []
    if args.hold:
        profile = None if args.no_profile else cProfile.Profile(time.perf_counter)
        _time_the_lock(holds, profile)
    elif args.tree:
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.0002)
    elif not args.no_profile:
        profile = cProfile.Profile(time.process_time if args.cpu else time.perf_counter)
    started_cpu, started = time.process_time(), time.perf_counter()
    if profile and not args.hold:
        profile.enable()
    if sampler:
        sampler.start()
    for index in range(args.requests):
        post(index)
    if profile and not args.hold:
        profile.disable()
    if sampler:
        sampler.stop()
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    if args.database == "postgres":  # the escalations queued: nobody consumes this queue
        from project.queue import broker

        broker().delete_queue()
    out = sys.__stdout__
    print(f"{args.requests} requests to {path} ({args.database}, {args.phase}): {statuses}", file=out)
    per = 1000 / args.requests
    profiled = bool(profile or sampler)
    print(f"CPU {cpu * per:.2f} ms / request, wall {wall * per:.2f} ms / request (profiled: {profiled})", file=out)
    if holds:
        holds.sort()
        print(
            f"write lock held {sum(holds) * per:.3f} ms / request in {len(holds)} transactions; "
            f"each p50 {holds[len(holds) // 2] * 1000:.3f} ms, p95 {holds[len(holds) * 95 // 100] * 1000:.3f} ms",
            file=out,
        )
    if sampler:
        print(sampler.output_text(unicode=True, show_all=False), file=out)
    if profile:
        if args.output:
            profile.dump_stats(args.output)
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats(args.sort).print_stats(args.limit)


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        sys.stderr = sys.__stderr__
        raise
