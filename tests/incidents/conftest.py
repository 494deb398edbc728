"""Fixtures for the tests that drive real outside programs against a live Piquet."""

import json
import subprocess
import time

import pytest
import requests

from tests.conftest import free_port, require_binary


def wait_until(predicate, *, timeout, interval=0.2, message="condition"):
    """Call `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message}", pytrace=False)
        time.sleep(interval)


class Alertmanager:
    """A real `prometheus-alertmanager` process listening on 127.0.0.1."""

    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "alertmanager.log"
        self.process = None

    def start(self, config):
        config_path = self.workdir / "alertmanager.yml"
        # YAML is a superset of JSON: no YAML library needed.
        config_path.write_text(json.dumps(config, indent=2))
        storage = self.workdir / "data"
        storage.mkdir(exist_ok=True)
        self.log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config_path}",
                f"--storage.path={storage}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, timeout=15, interval=0.1, message=f"Alertmanager to start\n{self.log()}")
        return self

    def _ready(self):
        if self.process.poll() is not None:
            pytest.fail(f"Alertmanager exited with {self.process.returncode}:\n{self.log()}", pytrace=False)
        try:
            return requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def post_alerts(self, alerts):
        response = requests.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5)
        assert response.status_code == 200, response.text

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None:
            self.log_file.close()


@pytest.fixture
def alertmanager(tmp_path):
    """Start Alertmanager with `alertmanager.start(config)`; it is always stopped afterwards."""
    binary = require_binary("prometheus-alertmanager")
    instance = Alertmanager(binary, tmp_path)
    yield instance
    instance.stop()
