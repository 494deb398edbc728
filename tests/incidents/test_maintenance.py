"""Maintenance windows: alerts are recorded and incidents opened, nobody is paged; when the window ends, what is
still open pages. Public windows show on the status page and are told ahead to its subscribers."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from comms import maintenance as announcements
from comms.models import Delivery, Subscriber
from incidents import escalation, lifecycle
from incidents.models import Incident, MaintenanceWindow, Page, Service, TimelineEntry
from rotations.models import EscalationPolicy, EscalationStep
from tests.factories import ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)  # 10:00 in Zurich


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Martin", email="alice@example.com")


@pytest.fixture
def paged_service(service, alice):
    policy = EscalationPolicy.objects.create(name="Website")
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(alice)
    service.escalation_policy = policy
    service.save()
    return service


def window(*services, start=T0, minutes=60, **fields):
    found = MaintenanceWindow.objects.create(
        name=fields.pop("name", "Database upgrade"),
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=minutes),
        **fields,
    )
    found.services.set(services)
    return found


def trigger(client, integration, run_tasks, key="k"):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "Replica lag", "source": "db-1", "severity": "critical"},
    }
    with run_tasks():
        assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    return Incident.objects.get(dedup_key=key)


def paged(incident):
    return [p.user.username for p in Page.objects.filter(incident=incident)]


def tick(run_tasks):
    with run_tasks():
        escalation.tick()


def test_nobody_is_paged_during_maintenance_and_the_incident_pages_when_it_ends(
    client, integration, paged_service, run_tasks
):
    window(paged_service)
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        assert incident.status == "triggered" and paged(incident) == [] and mail.outbox == []
        entry = TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.ESCALATION).last()
        assert entry.text == "Maintenance window Database upgrade: nobody is paged until 2026-12-02 11:00 CET."
        clock.move_to(T0 + dt.timedelta(minutes=30))
        tick(run_tasks)
        assert paged(incident) == []
        clock.move_to(T0 + dt.timedelta(minutes=60, seconds=1))
        tick(run_tasks)
        assert paged(incident) == ["alice"]


def test_a_window_silences_only_its_services_and_one_naming_none_silences_all(
    client, integration, paged_service, run_tasks
):
    window(ServiceFactory())
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False):
        assert paged(trigger(client, integration, run_tasks, key="a")) == ["alice"]
        window(name="Everything")
        assert paged(trigger(client, integration, run_tasks, key="b")) == []


def test_resolved_during_maintenance_pages_nobody_afterwards(client, integration, paged_service, run_tasks):
    window(paged_service)
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False) as clock:
        incident = trigger(client, integration, run_tasks)
        lifecycle.resolve(incident, actor_name="monitoring")
        clock.move_to(T0 + dt.timedelta(hours=2))
        tick(run_tasks)
    assert paged(incident) == []


def test_a_recurring_window_follows_the_wall_clock_across_dst(client, integration, paged_service, run_tasks):
    weekly = MaintenanceWindow.objects.create(
        name="Sunday patching", start_cron="0 2 * * 0", end_cron="0 4 * * 0", time_zone="Europe/Zurich"
    )
    weekly.services.set([paged_service])
    # Sunday 29 March 2026: clocks go from 02:00 to 03:00 in Zurich; the window is 02:00 (= 03:00 CEST) to 04:00.
    with time_machine.travel(dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC), tick=False) as clock:  # 03:30 CEST
        incident = trigger(client, integration, run_tasks)
        assert paged(incident) == []
        clock.move_to(dt.datetime(2026, 3, 29, 2, 0, 1, tzinfo=dt.UTC))  # 04:00 CEST
        tick(run_tasks)
        assert paged(incident) == ["alice"]


def test_the_api_starts_maintenance_from_now_and_ends_it(
    client, integration, paged_service, run_tasks, api_for, manager, responder
):
    api = api_for(manager)
    with time_machine.travel(T0, tick=False):
        body = {"name": "Failover drill", "services": [paged_service.slug], "duration_minutes": 120}
        assert api_for(responder).post("/api/v1/maintenance-windows/", body, format="json").status_code == 403
        created = api.post("/api/v1/maintenance-windows/", body, format="json")
        assert created.status_code == 201, created.content
        data = created.json()
        assert data["active"] is True and data["services"] == [paged_service.slug]
        assert data["ends_at"] == "2026-12-02T12:00:00+01:00"
        incident = trigger(client, integration, run_tasks)
        assert paged(incident) == []
        with run_tasks():
            ended = api.post(f"/api/v1/maintenance-windows/{data['id']}/end/")
        assert ended.status_code == 200 and ended.json()["active"] is False
        tick(run_tasks)
    assert paged(incident) == ["alice"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duration_minutes": 60, "starts_at": "2026-12-02T10:00:00Z"}, "duration_minutes"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"start_cron": "0 2 * * 0"}, "end_cron"),
        ({"start_cron": "every sunday", "end_cron": "0 4 * * 0"}, "start_cron"),
        ({"starts_at": "2026-12-02T10:00:00Z", "ends_at": "2026-12-02T09:00:00Z"}, "ends_at"),
        ({}, "start_cron"),
        ({"duration_minutes": 60, "services": ["nope"]}, "services"),
        ({"duration_minutes": 60, "time_zone": "Mars/Olympus"}, "time_zone"),
    ],
)
def test_bad_windows_are_refused_with_the_field_named(api_for, manager, body, field):
    response = api_for(manager).post("/api/v1/maintenance-windows/", {"name": "x", **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not MaintenanceWindow.objects.exists()


def test_the_admin_starts_maintenance_from_now_with_a_banner_on_the_service_and_incident(
    client, integration, paged_service, run_tasks, manager
):
    client.force_login(manager)
    with time_machine.travel(T0, tick=False):
        form = {
            "name": "Router swap",
            "services": [paged_service.pk],
            "from_now_for": "120",
            "time_zone": "Europe/Zurich",
            "enabled": "on",
            "reason": "New core router",
        }
        answer = client.post(reverse("admin:incidents_maintenancewindow_add"), form)
        assert answer.status_code == 302, answer.context["adminform"].form.errors
        created = MaintenanceWindow.objects.get()
        assert (created.starts_at, created.ends_at) == (T0, T0 + dt.timedelta(hours=2))
        assert created.created_by == manager
        incident = trigger(client, integration, run_tasks)
        banner = "Maintenance “Router swap”: nobody is paged for Website until 2026-12-02 12:00 CET."
        service_page = client.get(reverse("admin:incidents_service_change", args=[paged_service.pk]))
        assert banner in service_page.content.decode()
        incident_page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
        assert banner in incident_page.content.decode()
        listing = client.get(reverse("admin:incidents_maintenancewindow_changelist")).content.decode()
        assert "Router swap" in listing
        with run_tasks():
            client.post(
                reverse("admin:incidents_maintenancewindow_changelist"),
                {"action": "end_now", "_selected_action": [created.pk]},
            )
        tick(run_tasks)
    assert paged(incident) == ["alice"]


def test_public_maintenance_is_on_the_status_page_and_told_ahead_to_subscribers(
    client, paged_service, run_tasks, api_for, manager
):
    paged_service.public_name = "Online shop"
    paged_service.save()
    Subscriber.objects.create(group=None, kind="email", address="fan@example.com", confirmed_at=T0)
    Subscriber.objects.create(group=None, kind="email", address="unsure@example.com")
    with time_machine.travel(T0, tick=False):
        body = {
            "name": "Payment provider upgrade",
            "services": [paged_service.slug],
            "starts_at": "2026-12-02T20:00:00Z",
            "ends_at": "2026-12-02T22:00:00Z",
            "public": True,
        }
        with run_tasks():
            assert api_for(manager).post("/api/v1/maintenance-windows/", body, format="json").status_code == 201
        hidden = {**body, "name": "Internal only", "public": False}
        with run_tasks():
            assert api_for(manager).post("/api/v1/maintenance-windows/", hidden, format="json").status_code == 201
        assert [m.to for m in mail.outbox] == [["fan@example.com"]]
        assert mail.outbox[0].subject == "Scheduled maintenance: Payment provider upgrade"
        assert "Online shop: maintenance from 2026-12-02 21:00 CET to 2026-12-02 23:00 CET." in mail.outbox[0].body
        with run_tasks():
            assert announcements.announce_due() == 0  # once per occurrence
        assert len(mail.outbox) == 1
        page = client.get("/status/").content.decode()
        assert "Scheduled maintenance" in page and "Payment provider upgrade" in page
        assert "Internal only" not in page
        status = client.get("/api/v1/status/").json()["scheduled_maintenance"]
        assert [item["name"] for item in status] == ["Payment provider upgrade"]
        assert status[0]["services"] == "Online shop" and status[0]["under_way"] is False
    assert Delivery.objects.filter(purpose=Delivery.Purpose.MAINTENANCE).count() == 1


def test_a_window_that_cannot_be_read_never_stops_paging(client, integration, paged_service, run_tasks):
    broken = window(paged_service)
    # Written past validation (an old row, a hand edit): a cron that croniter refuses.
    MaintenanceWindow.objects.filter(pk=broken.pk).update(starts_at=None, ends_at=None, start_cron="x", end_cron="y")
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False):
        incident = trigger(client, integration, run_tasks)
    assert paged(incident) == ["alice"]
    assert TimelineEntry.objects.filter(incident=incident, data__quiet_error=True).exists()


def test_support_hours_that_cannot_be_read_never_stop_paging(client, integration, paged_service, run_tasks):
    Service.objects.filter(pk=paged_service.pk).update(support_hours=[{"days": ["someday"], "start": "9", "end": "5"}])
    with time_machine.travel(T0, tick=False):
        body = {
            "routing_key": integration.key,
            "event_action": "trigger",
            "dedup_key": "low",
            "payload": {"summary": "Disk 80 % full", "source": "db-1", "severity": "info"},
        }
        with run_tasks():
            assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    incident = Incident.objects.get(dedup_key="low")
    assert incident.urgency == "low" and paged(incident) == ["alice"]
    assert TimelineEntry.objects.filter(incident=incident, data__quiet_error=True).exists()
