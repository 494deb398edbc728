"""The background worker runs for real on the configured broker (ORM or Redis)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

from project.models import Heartbeat
from project.queue import enqueue
from project.queue_table import QueueTable
from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(transactional_db):
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_task_enqueued_by_the_web_side_runs_in_the_worker(worker, client):
    assert client.get("/healthz").json()["worker_last_seen"] is None
    async_task("project.tasks.heartbeat")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not Heartbeat.objects.filter(name="worker").exists():
        assert worker.poll() is None, worker.stdout.read().decode()
        time.sleep(0.2)
    assert Heartbeat.objects.filter(name="worker").exists(), "the worker did not run the task within 30 s"
    assert client.get("/healthz").json()["worker_last_seen"] is not None


@pytest.mark.skipif(not Conf.ORM, reason="the database's own queue (Q_BROKER=orm)")
def test_the_database_queue_writes_the_row_that_django_q2_hands_to_a_worker(db):
    broker = get_broker()
    assert isinstance(broker, QueueTable)
    before = timezone.now()
    task_id = enqueue("project.tasks.heartbeat")
    row = OrmQ.objects.get()
    assert (row.key, row.task_id(), row.func()) == (Conf.CLUSTER_NAME, task_id, "project.tasks.heartbeat")
    assert before <= row.lock <= timezone.now()
    assert broker.queue_size() == 1
    assert broker.dequeue() == [(row.pk, row.payload)]  # what the cluster takes, locked for its retry time
    assert broker.queue_size() == 0 and broker.lock_size() == 1
