"""The first notice with real parts: a live server, the real worker, a local SMTP server and webhook receiver."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from comms.models import Delivery, StakeholderGroup, Subscriber
from incidents.models import Incident
from tests.conftest import subprocess_env
from tests.factories import IntegrationFactory, ServiceFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(live_server, smtp_server):
    env = subprocess_env(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}", PIQUET_BASE_URL=live_server.url, LOG_LEVEL="WARNING"
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def wait_for(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def test_a_triggered_sev1_reaches_stakeholders_within_a_minute_exactly_once(
    live_server, worker, smtp_server, http_receiver
):
    service = ServiceFactory(name="Website", slug="website")
    integration = IntegrationFactory(service=service)
    group = StakeholderGroup.objects.create(name="Customers", min_severity="SEV2")
    Subscriber.objects.create(group=group, kind="webhook", address=http_receiver.url + "/customers")
    Subscriber.objects.create(group=group, kind="email", address="partner@example.com")

    started = time.monotonic()
    response = requests.post(
        live_server.url + "/v2/enqueue",
        json={
            "routing_key": integration.key,
            "event_action": "trigger",
            "dedup_key": "checkout",
            "payload": {"summary": "Checkout answers 502", "source": "probe", "severity": "critical"},
        },
        timeout=10,
    )
    assert response.status_code == 202

    wait_for(lambda: http_receiver.requests and smtp_server.messages, timeout=60, message="the first notice")
    assert time.monotonic() - started < 60
    time.sleep(3)  # a second delivery would arrive by now

    assert len(http_receiver.requests) == 1
    body = json.loads(http_receiver.requests[0]["body"])
    incident = Incident.objects.get(dedup_key="checkout")
    assert body["incident"]["number"] == incident.number
    assert body["update"]["phase"] == "investigating"
    assert "Checkout answers 502" in body["update"]["message"]
    assert [m["to"] for m in smtp_server.messages] == [["partner@example.com"]]
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 2
    page = requests.get(live_server.url + "/status/", timeout=10).text
    assert "Checkout answers 502" not in page  # the first notice is internal: the public hears from a person
