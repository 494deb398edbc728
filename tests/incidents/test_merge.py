"""Merging a duplicate incident into the one that carries on."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client

from incidents import escalation, lifecycle
from incidents.models import (
    Alert,
    Escalation,
    Incident,
    IncidentCounter,
    Notification,
    Page,
    Status,
    TimelineEntry,
)
from people.models import ContactMethod, NotificationRule, Team, TeamMembership
from rotations.models import EscalationPolicy, EscalationStep
from tests.conftest import require_postgres
from tests.factories import IncidentFactory, ServiceFactory, UserFactory
from tests.incidents.test_alertmanager_webhook import firing_alert, notification, post

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 27, 18, 40, tzinfo=dt.UTC)


def trigger(client, integration, key, summary="Website is down"):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": summary, "source": "probe", "severity": "critical"},
    }
    response = client.post("/v2/enqueue", body, content_type="application/json")
    assert response.status_code == 202, response.content


def merged_entries(incident):
    return [
        (entry.text, entry.actor_id)
        for entry in TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.MERGED)
    ]


@pytest.fixture
def pair(client, integration):
    """A (two alerts) and B (one alert) on the same service, both open."""
    trigger(client, integration, "db-down")
    trigger(client, integration, "db-down")
    trigger(client, integration, "site-down")
    return Incident.objects.get(dedup_key="db-down"), Incident.objects.get(dedup_key="site-down")


# --- the use case ------------------------------------------------------------


def test_merge_moves_alerts_resolves_a_as_merged_and_links_both_timelines(pair, responder):
    a, b = pair

    returned = lifecycle.merge(a, into=b, by=responder)

    a.refresh_from_db()
    b.refresh_from_db()
    assert returned.pk == b.pk
    assert (a.alert_count, b.alert_count) == (0, 3)
    assert Alert.objects.filter(incident=b).count() == 3
    assert not Alert.objects.filter(incident=a).exists()
    assert b.last_alert_at == max(Alert.objects.values_list("received_at", flat=True))
    assert a.status == Status.RESOLVED
    assert a.merged_into == b
    assert a.resolved_by == responder
    assert b.status == Status.TRIGGERED
    assert merged_entries(a) == [(f"Merged into #{b.number}", responder.pk)]
    assert merged_entries(b) == [(f"#{a.number} merged into this incident (alerts moved here: 2)", responder.pk)]
    assert a.timeline.filter(kind=TimelineEntry.Kind.RESOLVED).exists()


def test_merge_across_services_is_allowed(responder, service):
    a = IncidentFactory(service=ServiceFactory())
    b = IncidentFactory(service=service)
    lifecycle.merge(a, into=b, by=responder)
    a.refresh_from_db()
    assert a.merged_into == b


@pytest.mark.parametrize("case", ["self", "resolved target", "resolved source"])
def test_merge_refuses_itself_and_resolved_incidents(pair, responder, case):
    a, b = pair
    if case == "resolved target":
        lifecycle.resolve(b, by=responder)
    if case == "resolved source":
        lifecycle.resolve(a, by=responder)
    with pytest.raises(lifecycle.TransitionError):
        lifecycle.merge(a, into=a if case == "self" else b, by=responder)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.merged_into is None
    assert (a.alert_count, b.alert_count) == (2, 1)
    assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.MERGED).exists()


def test_a_later_trigger_with_a_key_joins_b_until_b_resolves(client, integration, pair, responder):
    a, b = pair
    lifecycle.merge(a, into=b, by=responder)

    trigger(client, integration, "db-down")

    b.refresh_from_db()
    assert b.alert_count == 4
    assert Incident.objects.count() == 2
    assert Alert.objects.filter(dedup_key="db-down", incident=b).count() == 3

    lifecycle.resolve(b, by=responder)
    trigger(client, integration, "db-down")

    reopened = Incident.objects.exclude(pk__in=[a.pk, b.pk]).get()
    assert (reopened.dedup_key, reopened.status, reopened.alert_count) == ("db-down", Status.TRIGGERED, 1)
    b.refresh_from_db()
    assert b.alert_count == 4


def test_keys_merged_earlier_follow_a_second_merge(client, integration, pair, responder, service):
    a, b = pair
    c = IncidentFactory(service=service, dedup_key="checkout-down")
    lifecycle.merge(a, into=b, by=responder)
    lifecycle.merge(b, into=c, by=responder)

    trigger(client, integration, "db-down")
    trigger(client, integration, "site-down")

    c.refresh_from_db()
    assert c.alert_count == 5
    assert Incident.objects.count() == 3


def test_a_resolve_event_with_a_key_leaves_b_open(client, integration, pair, responder):
    a, b = pair
    lifecycle.merge(a, into=b, by=responder)
    body = {"routing_key": integration.key, "event_action": "resolve", "dedup_key": "db-down"}
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    b.refresh_from_db()
    assert b.status == Status.TRIGGERED


def test_an_alertmanager_group_merged_into_b_keeps_joining_b_with_b_title(client, am_integration, service, responder):
    assert post(client, am_integration, notification()).status_code == 202
    a = Incident.objects.get()
    b = IncidentFactory(service=service, title="Checkout is down", dedup_key="checkout")
    lifecycle.merge(a, into=b, by=responder)
    b.refresh_from_db()
    assert b.alert_count == 2

    alerts = [firing_alert("aaa"), firing_alert("bbb", instance="web-2"), firing_alert("ccc", instance="web-3")]
    body = notification(alerts=alerts, annotations={"summary": "Error rate above 9%"})
    assert post(client, am_integration, body).status_code == 202
    assert post(client, am_integration, body).status_code == 202

    b.refresh_from_db()
    assert (b.alert_count, b.title) == (3, "Checkout is down")
    assert Incident.objects.count() == 2
    assert set(Alert.objects.filter(incident=b).values_list("fingerprint", flat=True)) == {"aaa", "bbb", "ccc"}


# --- escalation --------------------------------------------------------------


@pytest.fixture
def alice(db):
    alice = UserFactory(username="alice", email="alice@example.com")
    first = ContactMethod.objects.create(user=alice, kind="email", address="alice@example.com")
    later = ContactMethod.objects.create(user=alice, kind="email", address="alice@phone.example.com")
    NotificationRule.objects.create(user=alice, contact_method=first, delay_minutes=0)
    NotificationRule.objects.create(user=alice, contact_method=later, delay_minutes=3)
    return alice


@pytest.fixture
def policy(alice, service):
    policy = EscalationPolicy.objects.create(name="Website", repeat=1)
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(alice)
    bob = UserFactory(username="bob", email="bob@example.com")
    EscalationStep.objects.create(policy=policy, position=1, escalate_after_minutes=10).users.add(bob)
    service.escalation_policy = policy
    service.save()
    return policy


def paged(incident):
    return [(p.round, p.step, p.user.username) for p in Page.objects.filter(incident=incident).order_by("id")]


def test_merge_cancels_a_pending_pages_and_a_escalates_no_further(client, integration, policy, run_tasks, responder):
    with time_machine.travel(T0, tick=False) as clock:
        with run_tasks():
            trigger(client, integration, "db-down")
            trigger(client, integration, "site-down")
        a, b = Incident.objects.get(dedup_key="db-down"), Incident.objects.get(dedup_key="site-down")
        later = Notification.objects.get(incident=a, purpose=Notification.Purpose.PAGE, delay_minutes=3)
        assert later.status == Notification.Status.PENDING

        clock.move_to(T0 + dt.timedelta(minutes=1))
        with run_tasks():
            lifecycle.merge(a, into=b, by=responder)

        later.refresh_from_db()
        assert later.status == Notification.Status.CANCELLED
        assert Escalation.objects.get(incident=a).state == Escalation.State.RESOLVED
        mail.outbox.clear()
        for minutes in (3, 5, 15, 30):
            clock.move_to(T0 + dt.timedelta(minutes=minutes))
            with run_tasks():
                escalation.tick()

    assert paged(a) == [(0, 0, "alice")]
    # B carries on: its own chain climbs to Bob, and only B's pages went out.
    assert paged(b)[:2] == [(0, 0, "alice"), (0, 1, "bob")]
    pages = Notification.objects.filter(purpose=Notification.Purpose.PAGE, status=Notification.Status.SENT)
    assert not pages.filter(incident=a, sent_at__gt=T0 + dt.timedelta(minutes=1)).exists()
    assert pages.filter(incident=b, sent_at__gt=T0 + dt.timedelta(minutes=1)).exists()
    assert all(f"#{a.number}" not in message.subject for message in mail.outbox)


# --- API ---------------------------------------------------------------------


def test_api_merge_returns_b(api_for, responder, pair):
    a, b = pair
    response = api_for(responder).post(f"/api/v1/incidents/{a.pk}/merge/", {"into": b.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == b.pk
    assert response.json()["alert_count"] == 3
    detail = api_for(responder).get(f"/api/v1/incidents/{a.pk}/").json()
    assert (detail["status"], detail["merged_into"]) == ("resolved", b.pk)


@pytest.mark.parametrize("body", [{}, {"into": "b"}, {"into": None}, {"into": -1}, {"into": 2**70}])
def test_api_merge_without_a_valid_id_is_400(api_for, responder, pair, body):
    a, _b = pair
    response = api_for(responder).post(f"/api/v1/incidents/{a.pk}/merge/", body, format="json")
    assert response.status_code == 400, response.content
    assert "into" in response.json()
    a.refresh_from_db()
    assert a.status == Status.TRIGGERED


def test_api_merge_into_an_incident_of_another_team_is_404(api_for, responder, pair):
    a, _b = pair
    billing = Team.objects.create(name="Billing", slug="billing")
    sre = Team.objects.create(name="SRE", slug="sre")
    TeamMembership.objects.create(user=responder, team=sre)
    hidden = IncidentFactory(service=ServiceFactory(team=billing))
    response = api_for(responder).post(f"/api/v1/incidents/{a.pk}/merge/", {"into": hidden.pk}, format="json")
    assert response.status_code == 404
    missing = api_for(responder).post(f"/api/v1/incidents/{a.pk}/merge/", {"into": 999_999}, format="json")
    assert missing.status_code == 404
    a.refresh_from_db()
    assert a.merged_into is None


def test_api_merge_into_itself_or_a_resolved_incident_is_409(api_for, responder, pair):
    a, b = pair
    api = api_for(responder)
    response = api.post(f"/api/v1/incidents/{a.pk}/merge/", {"into": a.pk}, format="json")
    assert response.status_code == 409
    assert "itself" in response.json()["detail"]
    lifecycle.resolve(b, by=responder)
    response = api.post(f"/api/v1/incidents/{a.pk}/merge/", {"into": b.pk}, format="json")
    assert response.status_code == 409
    assert f"#{b.number} is resolved" in response.json()["detail"]


def test_stakeholder_cannot_merge(api_for, stakeholder, pair):
    a, b = pair
    response = api_for(stakeholder).post(f"/api/v1/incidents/{a.pk}/merge/", {"into": b.pk}, format="json")
    assert response.status_code == 403
    a.refresh_from_db()
    assert a.merged_into is None


# --- admin -------------------------------------------------------------------


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_admin_action_merges_the_selected_into_the_oldest(responder, service):
    with time_machine.travel(T0, tick=False) as clock:
        oldest = IncidentFactory(service=service)
        clock.move_to(T0 + dt.timedelta(minutes=1))
        second = IncidentFactory(service=service)
        clock.move_to(T0 + dt.timedelta(minutes=2))
        third = IncidentFactory(service=service)
    response = logged_in(responder).post(
        "/admin/incidents/incident/",
        {"action": "merge_selected", "_selected_action": [third.pk, oldest.pk, second.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert f"Merged #{second.number}, #{third.number} into #{oldest.number}." in response.content.decode()
    assert set(Incident.objects.filter(merged_into=oldest).values_list("pk", flat=True)) == {second.pk, third.pk}
    oldest.refresh_from_db()
    assert oldest.status == Status.TRIGGERED


def test_admin_action_needs_two_open_incidents(responder, service):
    only = IncidentFactory(service=service)
    response = logged_in(responder).post(
        "/admin/incidents/incident/", {"action": "merge_selected", "_selected_action": [only.pk]}, follow=True
    )
    assert "Select at least two open incidents to merge." in response.content.decode()


def test_incident_page_merge_form(responder, pair):
    a, b = pair
    client = logged_in(responder)
    page = client.get(f"/admin/incidents/incident/{a.pk}/change/").content.decode()
    assert 'id="merge-form"' in page

    response = client.post(f"/admin/incidents/incident/{a.pk}/merge/", {"merge-number": b.number}, follow=True)

    assert response.redirect_chain[-1][0] == f"/admin/incidents/incident/{b.pk}/change/"
    assert f"Incident #{a.number} merged into #{b.number}." in response.content.decode()
    a.refresh_from_db()
    assert a.merged_into == b
    page = client.get(f"/admin/incidents/incident/{a.pk}/change/").content.decode()
    assert f'href="/admin/incidents/incident/{b.pk}/change/">#{b.number}</a>' in page
    assert 'id="merge-form"' not in page


def test_incident_page_merge_form_says_what_went_wrong(responder, pair):
    a, _b = pair
    client = logged_in(responder)
    response = client.post(f"/admin/incidents/incident/{a.pk}/merge/", {"merge-number": 999_999}, follow=True)
    assert "There is no incident #999999." in response.content.decode()
    response = client.post(f"/admin/incidents/incident/{a.pk}/merge/", {"merge-number": a.number}, follow=True)
    assert "cannot be merged into itself" in response.content.decode()
    a.refresh_from_db()
    assert a.status == Status.TRIGGERED


def test_stakeholder_cannot_merge_from_the_admin(stakeholder, pair):
    a, b = pair
    client = logged_in(stakeholder)
    response = client.post(f"/admin/incidents/incident/{a.pk}/merge/", {"merge-number": b.number})
    assert response.status_code == 403
    client.post("/admin/incidents/incident/", {"action": "merge_selected", "_selected_action": [a.pk, b.pk]})
    a.refresh_from_db()
    assert a.merged_into is None


# --- concurrency (PostgreSQL) --------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_merging_a_into_b_while_b_merges_into_a_neither_deadlocks_nor_merges_both(service, responder):
    require_postgres()
    IncidentCounter.objects.get_or_create(pk=1, defaults={"value": 0})
    pairs = [(IncidentFactory(service=service), IncidentFactory(service=service)) for _ in range(8)]
    start = threading.Barrier(len(pairs) * 2)

    def merge(source, target):
        try:
            start.wait(timeout=30)
            lifecycle.merge(source, into=target, by=responder)
            return "merged"
        except lifecycle.TransitionError:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(pairs) * 2) as pool:
        futures = [pool.submit(merge, *order) for a, b in pairs for order in ((a, b), (b, a))]
        outcomes = [future.result(timeout=60) for future in futures]

    assert sorted(outcomes) == ["merged"] * len(pairs) + ["refused"] * len(pairs)
    for a, b in pairs:
        both = {incident.pk: incident for incident in Incident.objects.filter(pk__in=[a.pk, b.pk])}
        merged = [incident for incident in both.values() if incident.merged_into_id]
        assert len(merged) == 1
        (source,) = merged
        target = both[source.merged_into_id]
        assert (source.status, target.status, target.merged_into_id) == (Status.RESOLVED, Status.TRIGGERED, None)
        assert TimelineEntry.objects.filter(incident__in=[a, b], kind=TimelineEntry.Kind.MERGED).count() == 2
