"""Quiet when it should be, with real parts: a live server, the real worker and a local webhook receiver. An
alert during maintenance, or a low-urgency one outside support hours, pages nobody, and pages once the window
ends or support hours begin."""

import datetime as dt
import json
import time
from zoneinfo import ZoneInfo

import pytest
import requests
from django.utils import timezone

from incidents.models import MaintenanceWindow, Page
from people.models import ContactMethod, NotificationRule
from rotations.models import EscalationPolicy, EscalationStep
from tests.factories import IntegrationFactory, ServiceFactory, UserFactory
from tests.incidents.test_paging_live import trigger, wait_for, workers  # noqa: F401  (the worker fixture)


@pytest.fixture
def quiet(transactional_db, http_receiver):
    alice = UserFactory(username="alice", email="alice@example.com")
    hook = ContactMethod.objects.create(user=alice, kind="webhook", address=http_receiver.url + "/alice")
    NotificationRule.objects.create(user=alice, contact_method=hook, delay_minutes=0)
    policy = EscalationPolicy.objects.create(name="Website")
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(alice)
    service = ServiceFactory(slug="website", escalation_policy=policy, time_zone="Europe/Zurich")
    return {"service": service, "integration": IntegrationFactory(service=service)}


def pages(http_receiver):
    return [json.loads(r["body"]) for r in http_receiver.requests]


def test_an_alert_during_maintenance_pages_once_the_window_ends(live_server, workers, quiet, http_receiver):  # noqa: F811
    workers.start()
    now = timezone.now()
    window = MaintenanceWindow.objects.create(name="Failover", starts_at=now, ends_at=now + dt.timedelta(seconds=6))
    window.services.set([quiet["service"]])
    incident = trigger(live_server, quiet["integration"], "db")
    time.sleep(3)
    assert http_receiver.requests == [] and not Page.objects.filter(incident=incident).exists()
    wait_for(lambda: http_receiver.requests, timeout=20, message="the page after the window")
    assert pages(http_receiver)[0]["incident"]["number"] == incident.number
    assert timezone.now() >= window.ends_at


def test_a_low_urgency_alert_pages_when_support_hours_begin(live_server, workers, quiet, http_receiver):  # noqa: F811
    zurich = ZoneInfo("Europe/Zurich")
    local = timezone.now().astimezone(zurich)
    begins = (local + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (begins - local).total_seconds() < 8:  # too close to tell "not yet" from "now"
        begins += dt.timedelta(minutes=1)
    ends = begins + dt.timedelta(hours=1)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[begins.weekday()]
    service = quiet["service"]
    service.support_hours = [{"days": [day], "start": f"{begins:%H:%M}", "end": f"{ends:%H:%M}"}]
    service.save()
    workers.start()
    incident = trigger(live_server, quiet["integration"], "disk")
    incident.refresh_from_db()
    assert incident.urgency == "high"  # a critical alert: the service's map says high
    with_low = {"routing_key": quiet["integration"].key, "event_action": "trigger", "dedup_key": "slow"}
    with_low["payload"] = {"summary": "Disk 80 % full", "source": "db-1", "severity": "warning"}
    assert requests.post(live_server.url + "/v2/enqueue", json=with_low, timeout=10).status_code == 202
    wait_for(lambda: len(http_receiver.requests) == 1, timeout=15, message="the high-urgency page")
    time.sleep(2)
    assert [p["incident"]["title"] for p in pages(http_receiver)] == ["disk is down"]
    wait = (begins - timezone.now()).total_seconds()
    wait_for(lambda: len(http_receiver.requests) == 2, timeout=wait + 20, message="the page when support hours begin")
    assert pages(http_receiver)[1]["incident"]["title"] == "Disk 80 % full"
    assert timezone.now() >= begins
