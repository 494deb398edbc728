"""The background worker runs for real on the configured broker (ORM or Redis)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_q.tasks import async_task

from project.models import Heartbeat
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
