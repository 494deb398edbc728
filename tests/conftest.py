import os
import shutil
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from project.roles import MANAGERS, RESPONDERS, STAKEHOLDERS
from tests.factories import IntegrationFactory, ServiceFactory, UserFactory

STRICT = os.environ.get("PIQUET_STRICT_TESTS") == "1"


def require_binary(path_or_name):
    """Skip when an outside binary is missing — unless PIQUET_STRICT_TESTS=1 (CI), where it fails."""
    found = shutil.which(path_or_name)
    if found:
        return found
    message = f"{path_or_name} is not installed (run `make test-deps`)"
    if STRICT:
        pytest.fail(message + "; PIQUET_STRICT_TESTS=1 forbids skipping", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def _lock_file_of_the_test_database_removed():
    """The SQLite backend's lock file (project/sqlite3/base.py) goes with this process's test database."""
    from django.conf import settings

    yield
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and settings.DATABASES["default"]["ENGINE"] == "project.sqlite3":
        Path(f"{name}-writers").unlink(missing_ok=True)


def is_postgres():
    from django.db import connection

    return connection.vendor == "postgresql"


def require_postgres():
    if not is_postgres():
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://…")


def subprocess_env(**extra):
    """Environment for a child process (worker, server) that uses this test's database."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "SECRET_KEY": "piquet-tests-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
        "DATABASE_URL": url,
        "Q_BROKER": settings.Q_BROKER,
        "Q_CLUSTER_NAME": settings.Q_CLUSTER["name"],
        "EMAIL_URL": "consolemail://",
        "PIQUET_BASE_URL": settings.PIQUET_BASE_URL,
        "HOME": os.environ.get("HOME", "/tmp"),
        "PIQUET_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield


def run_follow_ups():
    """What the worker's ticker does for incident events: hand each due one to its task, until none is left."""
    from worker import followups

    handed = total = 0
    while (handed := followups.hand_out()) and total < 1000:
        total += handed
    return total


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """Run django-q2 tasks in-process as soon as the transaction that enqueued them commits, then (on leaving
    the block) the follow-ups of the incident events it wrote, as the worker's ticker would."""
    from contextlib import contextmanager

    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            yield callbacks
        with django_capture_on_commit_callbacks(execute=True):
            run_follow_ups()

    return run


@pytest.fixture
def responder(db):
    return UserFactory(username="rita", first_name="Rita", last_name="Responder", roles=[RESPONDERS])


@pytest.fixture
def teammate(db):
    return UserFactory(username="theo", first_name="Théo", last_name="Teammate", roles=[RESPONDERS])


@pytest.fixture
def manager(db):
    return UserFactory(username="mona", first_name="Mona", last_name="Manager", roles=[MANAGERS, RESPONDERS])


@pytest.fixture
def stakeholder(db):
    return UserFactory(username="sam", first_name="Sam", last_name="Stakeholder", roles=[STAKEHOLDERS])


@pytest.fixture
def outsider(db):
    return UserFactory(username="olga", first_name="Olga", last_name="Outsider", is_staff=False)


def api_client_for(user):
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_for():
    return api_client_for


@pytest.fixture
def service(db):
    return ServiceFactory(name="Website", slug="website")


@pytest.fixture
def integration(service):
    return IntegrationFactory(service=service, name="Prometheus")


@pytest.fixture
def am_integration(service):
    from incidents.models import Integration

    return IntegrationFactory(service=service, name="Alertmanager", kind=Integration.Kind.ALERTMANAGER)


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_url(live_server):
    """The live server's base URL on 127.0.0.1 (outside programs may resolve localhost to ::1)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(live_server.url)
    return urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port}"))


@pytest.fixture
def chromium(monkeypatch):
    """Debian's Chromium, driven by Playwright's sync API (no browser download)."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    binary = require_binary("chromium")
    # Playwright's sync API runs an event loop in this thread; the test still
    # reads the database synchronously between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            # While Playwright's loop runs, Django keys database connections to
            # its context, not the thread: close the ones the test opened there.
            connections.close_all()
            browser.close()


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A real local HTTP server that records every request it gets."""

    def __init__(self, status=200):
        import http.server
        import threading

        self.requests = []
        self.status = status
        # What the receiver answers: Twilio's API answers JSON, Slack's webhooks "ok".
        self.body = b'{"sid": "SM123", "status": "queued"}'
        self.content_type = "application/json"
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                payload = receiver.body
                self.send_response(receiver.status)
                self.send_header("Content-Type", receiver.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


class SMTPSink:
    """A real local SMTP server (aiosmtpd) that keeps the messages it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(
                    {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.content.decode()}
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()


@pytest.fixture
def smtp_server(settings):
    sink = SMTPSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.controller.stop()
