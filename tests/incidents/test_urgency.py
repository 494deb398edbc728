"""Urgency and support hours: low-urgency incidents outside support hours page nobody until they begin."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from incidents import escalation, lifecycle
from incidents.models import Incident, Page, Severity, TimelineEntry, Urgency
from people.models import ContactMethod, NotificationRule
from rotations.models import EscalationPolicy, EscalationStep
from rotations.restrictions import ScheduleError, restrictions_from_lines, restrictions_to_lines
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
FRIDAY_EVENING = dt.datetime(2026, 11, 27, 18, 40, tzinfo=dt.UTC)  # 19:40 in Zurich
MONDAY_MORNING = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)  # 09:00 in Zurich
OFFICE = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}]


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Martin", email="alice@example.com")


@pytest.fixture
def office_service(service, alice):
    policy = EscalationPolicy.objects.create(name="Website")
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(alice)
    service.escalation_policy = policy
    service.support_hours = OFFICE
    service.time_zone = "Europe/Zurich"
    service.save()
    return service


def trigger(client, integration, run_tasks, *, severity, key="k"):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "Disk 80 % full", "source": "db-1", "severity": severity},
    }
    with run_tasks():
        assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    return Incident.objects.get(dedup_key=key)


def paged(incident):
    return [p.user.username for p in Page.objects.filter(incident=incident)]


def tick(run_tasks):
    with run_tasks():
        escalation.tick()


@pytest.mark.parametrize(
    ("severity", "urgency"),
    [("critical", Urgency.HIGH), ("error", Urgency.HIGH), ("warning", Urgency.LOW), ("info", Urgency.LOW)],
)
def test_urgency_follows_the_services_map(client, integration, run_tasks, severity, urgency):
    assert trigger(client, integration, run_tasks, severity=severity).urgency == urgency


def test_a_service_may_map_its_severities_otherwise(client, integration, run_tasks, service):
    service.high_urgency_severities = [Severity.SEV1]
    service.save()
    assert trigger(client, integration, run_tasks, severity="error").urgency == Urgency.LOW


def test_low_urgency_outside_support_hours_waits_for_the_morning(client, integration, office_service, run_tasks):
    with time_machine.travel(FRIDAY_EVENING, tick=False) as clock:
        incident = trigger(client, integration, run_tasks, severity="info")
        assert paged(incident) == [] and mail.outbox == []
        waiting = TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.ESCALATION).last()
        assert waiting.text == "Low urgency, outside support hours: nobody is paged until 2026-11-30 09:00 CET."
        clock.move_to(FRIDAY_EVENING + dt.timedelta(days=1))
        tick(run_tasks)
        assert paged(incident) == []
        clock.move_to(MONDAY_MORNING + dt.timedelta(seconds=1))
        tick(run_tasks)
        assert paged(incident) == ["alice"]
        assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_high_urgency_pages_at_any_hour(client, integration, office_service, run_tasks):
    with time_machine.travel(FRIDAY_EVENING, tick=False):
        incident = trigger(client, integration, run_tasks, severity="critical")
    assert paged(incident) == ["alice"]


def test_low_urgency_inside_support_hours_pages_at_once(client, integration, office_service, run_tasks):
    with time_machine.travel(MONDAY_MORNING + dt.timedelta(hours=2), tick=False):
        incident = trigger(client, integration, run_tasks, severity="warning")
    assert paged(incident) == ["alice"]


def test_resolved_before_the_morning_pages_nobody(client, integration, office_service, run_tasks):
    with time_machine.travel(FRIDAY_EVENING, tick=False) as clock:
        incident = trigger(client, integration, run_tasks, severity="info")
        lifecycle.resolve(incident, actor_name="monitoring")
        clock.move_to(MONDAY_MORNING + dt.timedelta(minutes=1))
        tick(run_tasks)
    assert paged(incident) == []


def test_making_it_high_urgency_pages_now_and_says_why(
    client, integration, office_service, run_tasks, api_for, responder, stakeholder
):
    with time_machine.travel(FRIDAY_EVENING, tick=False):
        incident = trigger(client, integration, run_tasks, severity="info")
        url = f"/api/v1/incidents/{incident.pk}/urgency/"
        api = api_for(responder)
        assert api.post(url, {"urgency": "high"}, format="json").status_code == 400
        assert api.post(url, {"urgency": "loud", "reason": "x"}, format="json").status_code == 400
        assert api.post(url, {"urgency": "high", "reason": "\x00\x01"}, format="json").status_code == 400
        assert api_for(stakeholder).post(url, {"urgency": "high", "reason": "x"}, format="json").status_code == 403
        with run_tasks():
            answer = api.post(url, {"urgency": "high", "reason": "Customers are affected"}, format="json")
        assert answer.status_code == 200, answer.content
        assert answer.json()["urgency"] == "high"
    assert paged(incident) == ["alice"]
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineEntry.Kind.URGENCY)
    assert entry.text == "Urgency changed from low to high: Customers are affected"
    assert entry.actor == responder


def test_raising_the_severity_raises_the_urgency(client, integration, office_service, run_tasks, responder):
    with time_machine.travel(FRIDAY_EVENING, tick=False):
        incident = trigger(client, integration, run_tasks, severity="warning")
        with run_tasks():
            lifecycle.change_severity(incident, severity=Severity.SEV1, reason="Checkout fails", by=responder)
    incident.refresh_from_db()
    assert incident.urgency == Urgency.HIGH
    assert paged(incident) == ["alice"]


def test_notification_rules_apply_to_their_urgency(client, integration, office_service, run_tasks, alice):
    loud = ContactMethod.objects.create(user=alice, kind="email", address="alice-loud@example.com")
    quiet = ContactMethod.objects.create(user=alice, kind="email", address="alice-quiet@example.com")
    NotificationRule.objects.create(user=alice, contact_method=loud, urgency=NotificationRule.Urgency.HIGH)
    NotificationRule.objects.create(user=alice, contact_method=quiet, urgency=NotificationRule.Urgency.LOW)
    with time_machine.travel(MONDAY_MORNING + dt.timedelta(hours=1), tick=False):
        trigger(client, integration, run_tasks, severity="critical", key="a")
        assert [m.to for m in mail.outbox] == [["alice-loud@example.com"]]
        trigger(client, integration, run_tasks, severity="info", key="b")
        assert [m.to for m in mail.outbox][1:] == [["alice-quiet@example.com"]]


def test_support_hours_follow_the_zones_clock_across_dst(service):
    service.support_hours = OFFICE
    service.time_zone = "America/New_York"
    saturday = dt.datetime(2026, 3, 7, 15, 0, tzinfo=dt.UTC)  # DST begins on Sunday 8 March
    assert service.support_hours_begin(saturday) == dt.datetime(2026, 3, 9, 13, 0, tzinfo=dt.UTC)  # 09:00 EDT
    service.time_zone = "Europe/Zurich"
    friday = dt.datetime(2026, 3, 27, 20, 0, tzinfo=dt.UTC)  # Europe changes on Sunday 29 March
    assert service.support_hours_begin(friday) == dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)  # 09:00 CEST
    assert service.support_hours_begin(dt.datetime(2026, 3, 30, 8, 0, tzinfo=dt.UTC)) is None
    service.support_hours = []
    assert service.support_hours_begin(saturday) is None


def test_support_hours_are_written_as_lines():
    raw = restrictions_from_lines("mon-fri 09:00-18:00\n\nsat,sun 10:00 – 14:00\ndaily 22:00-6:00")
    assert raw == [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"},
        {"days": ["sat", "sun"], "start": "10:00", "end": "14:00"},
        {"start": "22:00", "end": "06:00"},
    ]
    assert restrictions_to_lines(raw) == "mon-fri 09:00-18:00\nsat,sun 10:00-14:00\ndaily 22:00-06:00"
    assert restrictions_from_lines("fri-mon 08:00-09:00")[0]["days"] == ["fri", "sat", "sun", "mon"]
    for bad in ("weekdays 09:00-18:00", "mon-fri 9-18", "mon 25:00-26:00"):
        with pytest.raises(ScheduleError):
            restrictions_from_lines(bad)


def test_the_api_keeps_the_map_and_support_hours_and_refuses_bad_ones(api_for, manager, service):
    api = api_for(manager)
    url = f"/api/v1/services/{service.pk}/"
    good = {"high_urgency_severities": ["SEV1"], "support_hours": OFFICE, "time_zone": "America/New_York"}
    answer = api.patch(url, good, format="json")
    assert answer.status_code == 200, answer.content
    assert {k: answer.json()[k] for k in good} == good
    for bad in (
        {"high_urgency_severities": ["SEV9"]},
        {"high_urgency_severities": "SEV1"},
        {"support_hours": [{"days": ["someday"], "start": "09:00", "end": "18:00"}]},
        {"support_hours": {"start": "09:00"}},
        {"support_hours": None},
        {"time_zone": "Mars/Olympus"},
    ):
        response = api.patch(url, bad, format="json")
        assert response.status_code == 400, (bad, response.content)
        assert set(response.json()) == set(bad)


def test_the_admin_edits_support_hours_as_lines(client, manager, service):
    client.force_login(manager)
    url = reverse("admin:incidents_service_change", args=[service.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields if form[name].value() is not None}
    data.update(
        {
            "high_urgency_severities": ["SEV1", "SEV2", "SEV3"],
            "support_hours": "mon-fri 08:00-17:00",
            "time_zone": "Europe/Zurich",
            "integrations-TOTAL_FORMS": "0",
            "integrations-INITIAL_FORMS": "0",
        }
    )
    data.pop("team", None)
    answer = client.post(url, data)
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    service.refresh_from_db()
    assert service.support_hours == [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "17:00"}]
    assert service.high_urgency_severities == ["SEV1", "SEV2", "SEV3"]
    assert "mon-fri 08:00-17:00" in client.get(url).content.decode()
    data["support_hours"] = "weekdays 9 to 5"
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "support_hours" in refused.context["adminform"].form.errors


def test_a_responder_changes_the_urgency_on_the_incident_page(
    client, integration, office_service, run_tasks, responder
):
    with time_machine.travel(FRIDAY_EVENING, tick=False):
        incident = trigger(client, integration, run_tasks, severity="info")
        client.force_login(responder)
        page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
        assert 'id="urgency-form"' in page and "waiting for support hours" in page
        url = reverse("admin:incidents_incident_urgency", args=[incident.pk])
        client.post(url, {"urgency-urgency": "high", "urgency-reason": ""})
        incident.refresh_from_db()
        assert incident.urgency == Urgency.LOW  # no reason, no change
        with run_tasks():
            answer = client.post(url, {"urgency-urgency": "high", "urgency-reason": "The CEO noticed"})
        assert answer.status_code == 302
    incident.refresh_from_db()
    assert incident.urgency == Urgency.HIGH
    assert paged(incident) == ["alice"]
    listing = client.get(reverse("admin:incidents_incident_changelist"), {"urgency__exact": "high"})
    assert f"#{incident.number}" in listing.content.decode()


def test_a_form_posted_null_support_hours_is_refused(api_for, manager, service):
    """As a multipart form sends it: the text null, read as JSON."""
    response = api_for(manager).patch(f"/api/v1/services/{service.pk}/", {"support_hours": "null"}, format="multipart")
    assert response.status_code == 400, response.content
    assert "support_hours" in response.json()
