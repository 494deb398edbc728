"""The background worker: django-q2's cluster plus a one-second ticker.

django-q2 runs tasks; the ticker makes timing precise. Twice a second it hands
due escalation steps and due messages to the queue and runs django-q2's
schedules (django-q2's own scheduler looks only about every 30 seconds).
Run one per machine; several may run at once: the database decides who does
what. Supervise the whole process group (see docs/deployment.md).

Asked to stop (SIGTERM, SIGINT), it hands out nothing more, gives the cluster
a few seconds to finish its tasks, kills what is left, and gives back what it
had handed out but not done, so that the other workers take it at once.
"""

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from django_q.brokers import get_broker
from django_q.scheduler import scheduler

from project.tasks import heartbeat
from worker import ticker

logger = logging.getLogger("piquet.worker")

HEARTBEAT_EVERY = 10
STOP_WITHIN = 3.5  # seconds the cluster gets to finish its tasks once the worker is asked to stop


def _descendants(pid):
    """Process ids below `pid` (Linux /proc), deepest last."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_cluster(cluster):
    """SIGTERM the cluster, wait STOP_WITHIN seconds, then SIGKILL it and its workers."""
    if cluster is None or cluster.poll() is not None:
        return
    below = _descendants(cluster.pid)
    cluster.send_signal(signal.SIGTERM)
    try:
        cluster.wait(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        logger.warning("worker: the task cluster did not stop within %.1fs; killing it", STOP_WITHIN)
    for pid in [cluster.pid, *below, *_descendants(cluster.pid)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    cluster.wait()


class Command(BaseCommand):
    help = "Run the background worker: django-q2's cluster and the one-second ticker."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between ticks (default 0.5).")
        parser.add_argument("--no-cluster", action="store_true", help="Run only the ticker (a cluster runs elsewhere).")

    def handle(self, *args, interval=0.5, no_cluster=False, **options):
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        signal.signal(signal.SIGINT, lambda *_: stopping.append(True))

        cluster = None
        if not no_cluster:
            cluster = subprocess.Popen([sys.executable, sys.argv[0], "qcluster"], env=os.environ.copy())  # noqa: S603
        broker = get_broker()
        logger.info("worker started pid=%s cluster=%s interval=%.2fs", os.getpid(), cluster and cluster.pid, interval)
        last_beat = 0.0
        try:
            while not stopping:
                started = time.monotonic()
                try:
                    ticker.tick()
                    scheduler(broker=broker)
                    if started - last_beat >= HEARTBEAT_EVERY:
                        heartbeat("worker")
                        last_beat = started
                except DatabaseError as exc:
                    logger.error("ticker: database error %s: %s", exc.__class__.__name__, exc)
                    close_old_connections()
                if cluster is not None and cluster.poll() is not None:
                    logger.error("worker: the task cluster exited with %s; stopping", cluster.returncode)
                    raise SystemExit(1)
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            stop_cluster(cluster)
            try:
                released = ticker.release()
            except DatabaseError as exc:
                released = 0
                logger.error("worker: could not give work back: %s", exc.__class__.__name__)
            logger.info("worker stopped released=%s", released)
