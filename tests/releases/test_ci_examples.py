"""The CI snippets of docs/releases.md, run with the real curl against a live server."""

import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from releases.models import Deployment
from tests.conftest import require_binary
from tests.releases.factories import ReleaseWindowFactory

pytestmark = pytest.mark.django_db(transaction=True)


def curl(*args):
    return subprocess.run([require_binary("curl"), "--silent", "--show-error", *args], capture_output=True, text=True)


def test_curl_fail_stops_the_pipeline_only_when_blocked(live_server, integration):
    ReleaseWindowFactory(name="Weekend freeze")
    gate = f"{live_server.url}/api/v1/releases/gate/?strict=1&environment=production"
    key = f"X-Routing-Key: {integration.key}"
    friday = curl("--fail-with-body", "--header", key, gate + "&at=2026-11-27T15:00:00%2B01:00")
    assert friday.returncode == 22
    assert "Weekend freeze" in friday.stdout
    thursday = curl("--fail-with-body", "--header", key, gate + "&at=2026-11-26T10:00:00%2B01:00")
    assert thursday.returncode == 0, thursday.stderr
    assert '"allowed":true' in thursday.stdout


def test_curl_records_a_deployment(live_server, integration):
    with time_machine.travel(datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Europe/Zurich"))):
        result = curl(
            "--fail",
            "-X",
            "POST",
            "--header",
            f"X-Routing-Key: {integration.key}",
            "--header",
            "Content-Type: application/json",
            "--data",
            '{"version": "abc1234", "environment": "production", "url": "https://ci.example.com/1", "actor": "ci"}',
            f"{live_server.url}/api/v1/releases/deployments/",
        )
    assert result.returncode == 0, result.stderr
    deployment = Deployment.objects.get()
    assert deployment.version == "abc1234"
    assert deployment.service == integration.service
