"""The background worker: django-q2's cluster plus a one-second ticker.

django-q2 runs tasks; the ticker makes timing precise. Twice a second it hands
due escalation steps and due messages to the queue and runs django-q2's
schedules (django-q2's own scheduler looks only about every 30 seconds).
Run one per machine; several may run at once: the database decides who does
what. Supervise the whole process group (see docs/deployment.md).
"""

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
            if cluster is not None and cluster.poll() is None:
                cluster.send_signal(signal.SIGTERM)
                try:
                    cluster.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    cluster.kill()
            logger.info("worker stopped")
