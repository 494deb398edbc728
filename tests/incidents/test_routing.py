"""Routing rules: an event goes to another service, changed, or is dropped; without rules nothing changes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import (
    Alert,
    Incident,
    Integration,
    Page,
    RoutingRule,
    SuppressedEvent,
    TimelineEntry,
    forget_integrations,
)
from rotations.models import EscalationPolicy, EscalationStep
from tests.factories import IntegrationFactory, ServiceFactory, UserFactory
from tests.incidents.test_alertmanager_webhook import firing_alert, notification

pytestmark = pytest.mark.django_db


def am_post(client, integration, body):
    return client.post(f"/api/v1/integrations/{integration.key}/alertmanager/", body, content_type="application/json")


def v2_post(client, integration, summary="Disk full", key="db-1/disk", severity="error", **payload):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": summary, "source": "db-1", "severity": severity, **payload},
    }
    return client.post("/v2/enqueue", body, content_type="application/json")


def rule(integration, *conditions, mode="all", position=1, **fields):
    return RoutingRule.objects.create(
        integration=integration, position=position, match={mode: list(conditions)}, **fields
    )


def cond(field, op="equals", value=None):
    return {"field": field, "op": op, **({"value": value} if value is not None else {})}


def team_alert(fingerprint, team, instance="web-1"):
    alert = firing_alert(fingerprint, instance=instance)
    alert["labels"]["team"] = team
    return alert


@pytest.fixture
def payments(db):
    return ServiceFactory(name="Payments", slug="payments")


def test_alertmanager_label_routes_the_alert_to_another_service(client, am_integration, payments):
    rule(am_integration, cond("labels.team", value="payments"), service=payments)
    response = am_post(client, am_integration, notification(alerts=[team_alert("aaa", "payments")]))
    assert response.status_code == 202
    incident = Incident.objects.get()
    assert incident.service == payments
    assert response.json()["incident"] == incident.number


def test_each_alert_of_a_group_is_routed_on_its_own(client, am_integration, payments):
    rule(am_integration, cond("labels.team", value="payments"), service=payments)
    body = notification(alerts=[team_alert("aaa", "payments"), team_alert("bbb", "web", instance="web-2")])
    assert am_post(client, am_integration, body).status_code == 202
    by_service = {i.service.slug: i.alert_count for i in Incident.objects.select_related("service")}
    assert by_service == {"payments": 1, "website": 1}
    # Alertmanager re-sends the group: nothing new.
    assert am_post(client, am_integration, body).status_code == 202
    assert Incident.objects.count() == 2 and Alert.objects.count() == 2


def test_drop_rule_suppresses_records_and_pages_nobody(client, am_integration):
    dropping = rule(am_integration, cond("labels.severity", "regex", "^crit"), drop=True)
    response = am_post(client, am_integration, notification())
    assert response.status_code == 202
    assert Incident.objects.count() == 0
    assert Alert.objects.count() == 0
    suppressed = SuppressedEvent.objects.get()
    assert suppressed.rule == dropping
    assert suppressed.integration == am_integration
    assert suppressed.summary == "Error rate above 5%"
    assert len(suppressed.payload["alerts"]) == 2


def test_redelivered_dropped_group_is_counted_not_kept_twice(client, am_integration):
    rule(am_integration, cond("labels.severity", "exists"), drop=True)
    body = notification()
    for _ in range(3):
        assert am_post(client, am_integration, body).status_code == 202
    assert SuppressedEvent.objects.get().repeats == 3
    assert am_post(client, am_integration, notification(annotations={"summary": "Other"})).status_code == 202
    assert SuppressedEvent.objects.count() == 2 and Incident.objects.count() == 0


def test_drop_rule_on_events_v2(client, integration):
    rule(integration, cond("payload.source", value="db-1"), drop=True)
    assert v2_post(client, integration).status_code == 202
    assert Incident.objects.count() == 0 and Alert.objects.count() == 0
    suppressed = SuppressedEvent.objects.get()
    assert suppressed.dedup_key == "db-1/disk" and "routing_key" not in suppressed.payload


def test_first_matching_rule_wins(client, integration, payments):
    other = ServiceFactory(slug="other")
    # Created first, tried later: position decides, not age.
    rule(integration, cond("payload.source", value="db-1"), position=2, service=other, severity="SEV4")
    rule(integration, cond("payload.source", value="elsewhere"), position=0, service=other)
    rule(integration, cond("payload.source", value="db-1"), position=1, service=payments)
    assert v2_post(client, integration).status_code == 202
    incident = Incident.objects.get()
    assert incident.service == payments and incident.severity == "SEV2"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("all", "website"), ("any", "payments")],
)
def test_any_needs_one_condition_all_needs_every_one(client, integration, payments, mode, expected):
    rule(
        integration,
        cond("payload.source", value="db-1"),
        cond("payload.class", value="nope"),
        mode=mode,
        service=payments,
    )
    assert v2_post(client, integration, **{"class": "disk"}).status_code == 202
    assert Incident.objects.get().service.slug == expected


def test_regex_and_exists_conditions(client, integration, payments):
    rule(
        integration,
        cond("payload.custom_details.runbook", "exists"),
        cond("payload.summary", "regex", r"^Disk \d+%"),
        service=payments,
    )
    v2_post(client, integration, summary="Disk 95% full", key="a", custom_details={"runbook": "http://x"})
    v2_post(client, integration, summary="Disk 95% full", key="b", custom_details={})
    v2_post(client, integration, summary="CPU 95%", key="c", custom_details={"runbook": "http://x"})
    assert {i.dedup_key: i.service.slug for i in Incident.objects.all()} == {
        "a": "payments",
        "b": "website",
        "c": "website",
    }


def test_templates_set_title_and_dedup_key_severity_and_urgency(client, am_integration, payments):
    rule(
        am_integration,
        cond("labels.alertname", "exists"),
        service=payments,
        severity="SEV4",
        urgency="high",
        title_template="{labels.alertname} on {labels.instance}{labels.missing}",
        dedup_key_template="{labels.alertname}/{labels.instance}",
    )
    body = notification(alerts=[firing_alert("aaa"), firing_alert("bbb", instance="web-2")])
    assert am_post(client, am_integration, body).status_code == 202
    incidents = {i.dedup_key: i for i in Incident.objects.all()}
    assert set(incidents) == {"HighErrorRate/web-1", "HighErrorRate/web-2"}
    first = incidents["HighErrorRate/web-1"]
    assert first.title == "HighErrorRate on web-1"
    assert first.severity == "SEV4"
    # SEV4 is low urgency in the service's map; the rule says high.
    assert payments.urgency_for("SEV4") == "low" and first.urgency == "high"


def test_routed_group_resolves_on_its_service(client, am_integration, payments):
    rule(am_integration, cond("labels.team", value="payments"), service=payments)
    assert am_post(client, am_integration, notification(alerts=[team_alert("aaa", "payments")])).status_code == 202
    resolved = team_alert("aaa", "payments")
    resolved.update(status="resolved", endsAt="2026-11-27T19:00:00Z")
    assert am_post(client, am_integration, notification(status="resolved", alerts=[resolved])).status_code == 202
    assert Incident.objects.get(service=payments).status == "resolved"


def test_events_v2_resolve_follows_the_route(client, integration, payments):
    rule(integration, cond("dedup_key", "regex", "^db-"), service=payments)
    v2_post(client, integration)
    body = {"routing_key": integration.key, "event_action": "resolve", "dedup_key": "db-1/disk"}
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    assert Incident.objects.get().service == payments
    assert Incident.objects.get().status == "resolved"


def test_no_rule_matching_changes_nothing(client, integration):
    rule(integration, cond("payload.source", value="elsewhere"), severity="SEV1")
    assert v2_post(client, integration, severity="warning").status_code == 202
    incident = Incident.objects.get()
    assert (incident.service.slug, incident.severity, incident.title, incident.dedup_key) == (
        "website",
        "SEV3",
        "Disk full",
        "db-1/disk",
    )


def routing_queries(queries):
    return [q["sql"] for q in queries.captured_queries if "routingrule" in q["sql"].lower()]


@pytest.mark.parametrize("kind", ["events_v2", "alertmanager"])
def test_an_integration_without_rules_costs_what_it_cost(client, django_assert_num_queries, service, kind):
    """A join (the usual event of a storm), measured before any rule, then after adding and removing one."""
    integration = IntegrationFactory(service=service, kind=kind)

    def send(n):
        if kind == "events_v2":
            assert v2_post(client, integration, summary=f"n{n}").status_code == 202
        else:
            assert am_post(client, integration, notification(alerts=[firing_alert(f"f{n}")])).status_code == 202

    send(0)
    with CaptureQueriesContext(connection) as before:
        send(1)
    cost = len(before)
    assert cost > 0
    assert not routing_queries(before)
    added = rule(integration, cond("labels.team" if kind == "alertmanager" else "dedup_key", "exists"))
    send(2)
    added.delete()
    send(3)
    with django_assert_num_queries(cost) as after:
        send(4)
    assert not routing_queries(after)


def test_integration_without_rules_asks_for_them_only_inside_its_own_lookup(client, integration):
    forget_integrations()
    with CaptureQueriesContext(connection) as queries:
        assert v2_post(client, integration).status_code == 202
    asked = routing_queries(queries)
    assert len(asked) == 1 and "incidents_integration" in asked[0].split("EXISTS")[0]


def test_integration_with_rules_reads_them_once_per_cache_period(client, integration, payments):
    rule(integration, cond("payload.source", value="db-1"), service=payments)
    v2_post(client, integration, key="a")
    with CaptureQueriesContext(connection) as queries:
        v2_post(client, integration, key="a")
    assert not routing_queries(queries)
    assert Incident.objects.get().alert_count == 2


def test_rule_change_is_seen_at_once(client, integration, payments):
    v2_post(client, integration, key="a")
    rule(integration, cond("payload.source", value="db-1"), service=payments)
    v2_post(client, integration, key="b")
    assert Incident.objects.get(dedup_key="b").service == payments


def test_timeline_names_the_integration(client, integration, payments):
    rule(integration, cond("payload.source", value="db-1"), service=payments)
    v2_post(client, integration)
    entry = TimelineEntry.objects.get(kind="triggered")
    assert entry.actor_name == integration.name


def test_webhook_kind_url(service):
    integration = IntegrationFactory(service=service, kind=Integration.Kind.WEBHOOK)
    assert integration.url.endswith(f"/api/v1/integrations/{integration.key}/webhook/")


def on_call(service, username):
    person = UserFactory(username=username, email=f"{username}@example.com")
    policy = EscalationPolicy.objects.create(name=f"{service.slug} chain")
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(person)
    service.escalation_policy = policy
    service.save()
    return person


def test_routed_incident_pages_the_other_services_chain_and_a_dropped_one_pages_nobody(
    client, am_integration, payments, run_tasks
):
    on_call(am_integration.service, "web_oncall")
    on_call(payments, "pay_oncall")
    rule(am_integration, cond("labels.team", value="payments"), service=payments)
    rule(am_integration, cond("labels.team", value="noise"), position=2, drop=True)
    with run_tasks():
        am_post(client, am_integration, notification(alerts=[team_alert("aaa", "payments")]))
    assert list(Page.objects.values_list("user__username", flat=True)) == ["pay_oncall"]
    with run_tasks():
        body = notification(alerts=[team_alert("bbb", "noise")])
        body["groupKey"] = "noise-group"
        am_post(client, am_integration, body)
    assert Page.objects.count() == 1 and Incident.objects.count() == 1
    assert SuppressedEvent.objects.count() == 1
