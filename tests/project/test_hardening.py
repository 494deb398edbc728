"""A hardened default: weak keys refused, logins and tokens and subscriptions rate-limited, https settings."""

import datetime as dt
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from comms import subscriptions
from comms.models import Subscriber
from project.logs import UTCFormatter
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "a-long-and-random-production-key-9f8e7d6c5b4a3928171605f4e3d2c1b0a99"


def manage(*args, **env):
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "project.settings", "HOME": "/tmp"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )


@pytest.mark.parametrize("key", ["change-me", "short-key", "piquet-development-key-not-for-production"])
def test_a_weak_secret_key_stops_a_production_server_with_a_sentence(key):
    result = manage("check", DEBUG="0", SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr and "secrets.token_urlsafe(50)" in result.stderr


def test_check_deploy_reports_nothing_with_a_long_key_and_an_https_base_url(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=GOOD_KEY,
        PIQUET_BASE_URL="https://piquet.example.com",
        ALLOWED_HOSTS="piquet.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path}/deploy.sqlite3",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_admin_logins_lock_out_an_account_after_five_failures_even_with_the_right_password(client):
    UserFactory(username="ada", password="the-right-password-42", is_staff=True)
    answers = [client.post("/admin/login/", {"username": "ada", "password": "wrong"}).status_code for _ in range(5)]
    assert answers[:4] == [200] * 4  # the form again, with its error
    locked = client.post("/admin/login/", {"username": "ada", "password": "the-right-password-42"})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60


def test_guessing_api_tokens_is_slowed_down_with_429(client):
    for _attempt in range(10):
        assert client.get("/api/v1/incidents/", HTTP_AUTHORIZATION="Token " + "0" * 40).status_code == 401
    response = client.get("/api/v1/incidents/", HTTP_AUTHORIZATION="Token " + "1" * 40)
    assert response.status_code == 429
    assert response["Retry-After"]


def test_status_page_subscriptions_are_limited_per_address_and_per_client(client):
    for _attempt in range(3):
        assert client.post("/status/subscribe/", {"email": "victim@example.com"}).status_code == 200
    refused = client.post("/status/subscribe/", {"email": "victim@example.com"})
    assert refused.status_code == 429 and refused["Retry-After"]
    for n in range(6):
        client.post("/status/subscribe/", {"email": f"reader{n}@example.com"})
    assert client.post("/status/subscribe/", {"email": "last@example.com"}).status_code == 429
    assert len(mail.outbox) <= 10


def test_unconfirmed_visitors_are_forgotten_after_a_week():
    confirmed = Subscriber.objects.create(kind="email", address="kept@example.com", confirmed_at=timezone.now())
    Subscriber.objects.create(kind="email", address="fresh@example.com")
    old = Subscriber.objects.create(kind="email", address="stale@example.com")
    Subscriber.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    with time_machine.travel(timezone.now(), tick=False):
        assert subscriptions.expire_unconfirmed() == 1
    assert set(Subscriber.objects.values_list("address", flat=True)) == {"kept@example.com", "fresh@example.com"}
    assert Subscriber.objects.filter(pk=confirmed.pk).exists()


def test_an_acknowledge_link_needs_the_right_to_work_incidents(client, stakeholder, responder):
    from incidents.links import ack_url
    from tests.factories import IncidentFactory

    incident = IncidentFactory()
    path = ack_url(incident, stakeholder).split("://", 1)[1].split("/", 1)[1]
    response = client.post("/" + path)
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"
    allowed = ack_url(incident, responder).split("://", 1)[1].split("/", 1)[1]
    assert client.post("/" + allowed).status_code == 200
    incident.refresh_from_db()
    assert incident.status == "acknowledged"


def test_keys_never_reach_a_log_line():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: /api/v1/integrations/%s/alertmanager/",
        ("0123456789abcdef0123456789abcdef",),
        None,
    )
    line = UTCFormatter("%(message)s").format(record)
    assert "0123456789abcdef0123456789abcdef" not in line
    assert "/api/v1/integrations/0123…/alertmanager/" in line
