"""Heartbeat integrations: pings keep them quiet; silence longer than period + grace opens one incident."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import time_machine
from django.core import mail

from incidents import heartbeat
from incidents.models import Alert, Incident, Integration, Page, Status, TimelineEntry
from rotations.models import EscalationPolicy, EscalationStep
from tests.conftest import subprocess_env
from tests.factories import IntegrationFactory, UserFactory
from worker import ticker

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)


@pytest.fixture
def paged_service(service):
    alice = UserFactory(username="alice", email="alice@example.com")
    policy = EscalationPolicy.objects.create(name="Website")
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(alice)
    service.escalation_policy = policy
    service.save()
    return service


def make_heartbeat(service, **fields):
    defaults = {"name": "Nightly backup", "kind": Integration.Kind.HEARTBEAT, "period_seconds": 2, "grace_seconds": 1}
    return IntegrationFactory(service=service, **{**defaults, **fields})


def url(integration):
    return f"/api/v1/integrations/{integration.key}/heartbeat/"


def heartbeat_incidents(integration):
    return Incident.objects.filter(service=integration.service, dedup_key=f"heartbeat:{integration.pk}")


def tick(run_tasks, now):
    with run_tasks():
        return ticker.tick(now=now)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_ping_by_get_or_post_records_the_last_ping_and_moves_the_due_time(client, service, method):
    beat = make_heartbeat(service)
    with time_machine.travel(T0, tick=False):
        response = getattr(client, method)(url(beat))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "success",
        "message": "Ping recorded",
        "next_expected_before": (T0 + dt.timedelta(seconds=3)).isoformat(),
    }
    beat.refresh_from_db()
    assert beat.last_ping_at == T0
    assert beat.heartbeat_due_at == T0 + dt.timedelta(seconds=3)


@pytest.mark.django_db
def test_a_ping_is_one_update(client, service, django_assert_num_queries):
    beat = make_heartbeat(service)
    client.get(url(beat))  # the integration is now in this process's key cache
    with django_assert_num_queries(1):
        assert client.post(url(beat)).status_code == 200


@pytest.mark.django_db
def test_an_unknown_key_is_404_and_another_kinds_key_is_400_with_a_message(client, integration):
    unknown = client.get("/api/v1/integrations/0123456789abcdef0123456789abcdef/heartbeat/")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Unknown integration key."
    wrong_kind = client.post(url(integration))
    assert wrong_kind.status_code == 400
    assert "of kind 'events_v2'" in wrong_kind.json()["message"]
    integration.refresh_from_db()
    assert integration.last_ping_at is None


@pytest.mark.django_db
def test_a_disabled_heartbeat_refuses_pings_and_never_fires(client, service, run_tasks):
    with time_machine.travel(T0, tick=False):
        beat = make_heartbeat(service, enabled=False)
    assert client.get(url(beat)).status_code == 403
    assert tick(run_tasks, T0 + dt.timedelta(seconds=60)) == 0
    assert not heartbeat_incidents(beat).exists()


@pytest.mark.django_db
def test_other_methods_are_405(client, service):
    response = client.put(url(make_heartbeat(service)))
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


@pytest.mark.django_db
def test_silence_longer_than_period_and_grace_opens_one_incident_that_pages_and_a_ping_resolves_it(
    client, paged_service, run_tasks, settings
):
    settings.TIME_ZONE = "Europe/Zurich"
    paged_service.time_zone = "America/New_York"
    paged_service.save()
    beat = make_heartbeat(paged_service)
    with time_machine.travel(T0, tick=False) as clock:
        assert client.get(url(beat)).status_code == 200
        clock.move_to(T0 + dt.timedelta(seconds=2.9))
        tick(run_tasks, T0 + dt.timedelta(seconds=2.9))
        assert not heartbeat_incidents(beat).exists()  # within period + grace

        clock.move_to(T0 + dt.timedelta(seconds=3.5))
        tick(run_tasks, T0 + dt.timedelta(seconds=3.5))
        incident = heartbeat_incidents(beat).get()
        assert incident.title == "No heartbeat from Nightly backup since 2026-12-02 08:00:00 America/New_York"
        assert incident.status == Status.TRIGGERED
        assert [p.user.username for p in Page.objects.filter(incident=incident)] == ["alice"]
        assert [m.to for m in mail.outbox] == [["alice@example.com"]]
        assert Alert.objects.filter(integration=beat, incident=incident).count() == 1

        clock.move_to(T0 + dt.timedelta(seconds=10))
        tick(run_tasks, T0 + dt.timedelta(seconds=10))
        assert heartbeat_incidents(beat).count() == 1
        assert Page.objects.filter(incident=incident).count() == 1

        with run_tasks():
            assert client.post(url(beat)).status_code == 200
        incident.refresh_from_db()
        assert incident.status == Status.RESOLVED
        entry = incident.timeline.get(kind=TimelineEntry.Kind.RESOLVED)
        assert entry.text == "Heartbeat received again"
        assert entry.actor_name == "Nightly backup"
        beat.refresh_from_db()
        assert (beat.heartbeat_missed, beat.last_ping_at) == (False, T0 + dt.timedelta(seconds=10))

        # Quiet again: the next silence is a new incident.
        tick(run_tasks, T0 + dt.timedelta(seconds=12.5))
        assert heartbeat_incidents(beat).count() == 1
        tick(run_tasks, T0 + dt.timedelta(seconds=13.5))
        assert heartbeat_incidents(beat).count() == 2
        assert (
            heartbeat_incidents(beat)
            .exclude(status=Status.RESOLVED)
            .get()
            .title.endswith("since 2026-12-02 08:00:10 America/New_York")
        )


@pytest.mark.django_db
def test_a_heartbeat_that_never_pinged_fires_period_and_grace_after_its_creation(service, run_tasks):
    with time_machine.travel(T0, tick=False):
        beat = make_heartbeat(service)
    assert beat.heartbeat_due_at == T0 + dt.timedelta(seconds=3)
    assert tick(run_tasks, T0 + dt.timedelta(seconds=2.99)) == 0
    assert tick(run_tasks, T0 + dt.timedelta(seconds=3)) >= 1
    assert (
        heartbeat_incidents(beat).get().title
        == "No heartbeat from Nightly backup since 2026-12-02 14:00:00 Europe/Zurich"
    )


@pytest.mark.django_db
def test_a_longer_period_set_in_the_admin_counts_from_the_last_ping(client, service):
    beat = make_heartbeat(service)
    with time_machine.travel(T0, tick=False):
        client.get(url(beat))
    beat.refresh_from_db()
    beat.period_seconds = 3600
    beat.save()
    assert beat.heartbeat_due_at == T0 + dt.timedelta(seconds=3601)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 20])
def test_the_tick_is_one_query_whatever_the_number_of_heartbeats(
    service, count, run_tasks, django_assert_max_num_queries
):
    with time_machine.travel(T0, tick=False):
        beats = [make_heartbeat(service, name=f"job {index}") for index in range(count)]
    assert tick(run_tasks, T0 + dt.timedelta(seconds=3)) >= count  # all missed: their incidents are open
    with time_machine.travel(T0 + dt.timedelta(seconds=3), tick=False):
        make_heartbeat(service, name="fresh")
    with django_assert_max_num_queries(1):
        assert heartbeat.tick(T0 + dt.timedelta(seconds=4)) == 0
    assert heartbeat_incidents(beats[-1]).count() == 1


@pytest.mark.django_db
def test_the_admin_shows_the_state_and_the_ping_command(admin_client, service):
    with time_machine.travel(T0, tick=False):
        beat = make_heartbeat(service)
    page = admin_client.get(f"/admin/incidents/integration/{beat.pk}/change/").content.decode()
    assert "Missing since" in page  # never pinged, long ago
    assert f"curl -fsS -m 10 --retry 3 {beat.url}" in page
    admin_client.get(url(beat))
    page = admin_client.get(f"/admin/incidents/integration/{beat.pk}/change/").content.decode()
    assert "OK, next ping expected before" in page


@pytest.mark.django_db
def test_the_api_shows_period_grace_and_the_last_ping_read_only(api_for, manager, service):
    api = api_for(manager)
    created = api.post(
        f"/api/v1/services/{service.pk}/integrations/",
        {
            "name": "Backup",
            "kind": "heartbeat",
            "period_seconds": 60,
            "grace_seconds": 5,
            "last_ping_at": "2020-01-01T00:00:00Z",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["period_seconds"], body["grace_seconds"], body["last_ping_at"]) == (60, 5, None)
    assert body["url"].endswith(f"/api/v1/integrations/{Integration.objects.get(pk=body['id']).key}/heartbeat/")
    too_long = api.post(
        f"/api/v1/services/{service.pk}/integrations/",
        {"name": "Backup", "kind": "heartbeat", "period_seconds": 8 * 86400},
        format="json",
    )
    assert too_long.status_code == 400
    assert too_long.json() == {"period_seconds": ["Ensure this value is less than or equal to 604800."]}


@pytest.fixture
def worker(transactional_db):
    process = subprocess.Popen(
        [sys.executable, "manage.py", "worker"],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_the_real_worker_opens_the_incident_of_a_silent_heartbeat_in_real_time(worker, live_server, service):
    beat = make_heartbeat(service)
    assert requests.get(live_server.url + url(beat), timeout=5).status_code == 200
    pinged = time.monotonic()
    deadline = pinged + 15
    while time.monotonic() < deadline and not heartbeat_incidents(beat).exists():
        assert worker.poll() is None, worker.stdout.read().decode()
        time.sleep(0.1)
    opened_after = time.monotonic() - pinged
    incident = heartbeat_incidents(beat).get()
    assert 3 <= opened_after < 10, opened_after  # period 2 s + grace 1 s; the upper bound allows a slow start
    assert incident.title.startswith("No heartbeat from Nightly backup since ")
    assert requests.post(live_server.url + url(beat), timeout=5).status_code == 200
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


@pytest.mark.django_db
def test_a_heartbeat_whose_incident_cannot_be_opened_does_not_keep_the_others_quiet(service, run_tasks, monkeypatch):
    with time_machine.travel(T0, tick=False):
        broken, fine = make_heartbeat(service, name="broken"), make_heartbeat(service, name="fine")
    real_title = heartbeat.title

    def title(integration, since):
        if integration.name == "broken":
            raise RuntimeError("cannot render")
        return real_title(integration, since)

    monkeypatch.setattr(heartbeat, "title", title)
    tick(run_tasks, T0 + dt.timedelta(seconds=4))
    assert heartbeat_incidents(fine).count() == 1
    assert not heartbeat_incidents(broken).exists()
    broken.refresh_from_db()
    assert not broken.heartbeat_missed  # rolled back: tried again next tick
    monkeypatch.setattr(heartbeat, "title", real_title)
    tick(run_tasks, T0 + dt.timedelta(seconds=5))
    assert heartbeat_incidents(broken).count() == 1
