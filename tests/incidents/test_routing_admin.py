"""Routing rules on the integration page: conditions as lines, checked; the console and preview write nothing."""

import json

import pytest
from django.test import Client

from incidents.models import Alert, Incident, Integration, RoutingRule, SuppressedEvent, TimelineEntry
from tests.factories import IntegrationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def form_data(integration, **rule):
    data = {
        "service": integration.service.pk,
        "kind": integration.kind,
        "name": integration.name,
        "enabled": "on",
        "title_expr": integration.title_expr,
        "severity_expr": integration.severity_expr,
        "dedup_expr": integration.dedup_expr,
        "resolve_expr": integration.resolve_expr,
        "default_severity": integration.default_severity,
        "period_seconds": integration.period_seconds,
        "grace_seconds": integration.grace_seconds,
        "routing_rules-TOTAL_FORMS": "1" if rule else "0",
        "routing_rules-INITIAL_FORMS": "0",
        "routing_rules-MIN_NUM_FORMS": "0",
        "routing_rules-MAX_NUM_FORMS": "1000",
    }
    for name, value in rule.items():
        data[f"routing_rules-0-{name}"] = value
    return data


def change_url(integration):
    return f"/admin/incidents/integration/{integration.pk}/change/"


def test_manager_adds_a_rule_written_as_lines(admin_client_for, manager, am_integration):
    payments = ServiceFactory(slug="payments")
    lines = "labels.team = payments\nlabels.severity ~ ^crit\n\nannotations.runbook exists"
    data = form_data(
        am_integration,
        position="1",
        mode="any",
        conditions=lines,
        service=payments.pk,
        severity="SEV2",
        urgency="low",
        title_template="{labels.alertname}",
        dedup_key_template="",
        note="payments alerts",
    )
    response = admin_client_for(manager).post(change_url(am_integration), data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    rule = RoutingRule.objects.get()
    assert rule.match == {
        "any": [
            {"field": "labels.team", "op": "equals", "value": "payments"},
            {"field": "labels.severity", "op": "regex", "value": "^crit"},
            {"field": "annotations.runbook", "op": "exists"},
        ]
    }
    assert (rule.service, rule.severity, rule.urgency) == (payments, "SEV2", "low")
    page = admin_client_for(manager).get(change_url(am_integration)).content.decode()
    assert "labels.severity ~ ^crit" in page and "Test this payload" in page


@pytest.mark.parametrize(
    ("conditions", "extra", "field", "says"),
    [
        ("labels.team is payments", {}, "conditions", "Line 1"),
        ("labels.team ~ (unclosed", {}, "conditions", "regular expression"),
        ("payload.team exists", {}, "conditions", "Unknown field"),
        ("labels.team exists", {"title_template": "{labels.x"}, "title_template", "brace"),
    ],
)
def test_bad_rules_are_form_errors(admin_client_for, manager, am_integration, conditions, extra, field, says):
    data = form_data(am_integration, position="1", mode="all", conditions=conditions, **extra)
    response = admin_client_for(manager).post(change_url(am_integration), data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert says in " ".join(errors[field])
    assert not RoutingRule.objects.exists()


def test_invalid_expression_is_a_form_error(admin_client_for, manager, service):
    hook = IntegrationFactory(service=service, kind=Integration.Kind.WEBHOOK)
    data = {**form_data(hook), "resolve_expr": "status =="}
    response = admin_client_for(manager).post(change_url(hook), data)
    assert response.status_code == 200
    assert "resolve_expr" in response.context["adminform"].form.errors


def counts():
    return (
        Incident.objects.count(),
        Alert.objects.count(),
        TimelineEntry.objects.count(),
        SuppressedEvent.objects.count(),
    )


def test_console_says_which_rule_matched_and_writes_nothing(admin_client_for, manager, integration):
    payments = ServiceFactory(slug="payments")
    rule = RoutingRule.objects.create(
        integration=integration,
        position=3,
        note="db to payments",
        match={"all": [{"field": "payload.source", "op": "equals", "value": "db-1"}]},
        service=payments,
    )
    client = admin_client_for(manager)
    url = f"/admin/incidents/integration/{integration.pk}/test/"
    assert client.get(url).status_code == 200
    before = counts()
    body = {"event_action": "trigger", "payload": {"summary": "Disk", "source": "db-1", "severity": "critical"}}
    response = client.post(url, {"body": json.dumps(body)})
    assert response.status_code == 200
    assert response.context["answer"]["matched"] == rule.pk
    page = response.content.decode()
    assert "position 3" in page and "payments" in page
    assert counts() == before
    response = client.post(url, {"body": "{not json"})
    assert response.context["form"].errors["body"]


def test_webhook_preview_shows_what_a_body_gives(admin_client_for, manager, service):
    hook = IntegrationFactory(service=service, kind=Integration.Kind.WEBHOOK, severity_expr="level")
    before = counts()
    response = admin_client_for(manager).post(
        f"/admin/incidents/integration/{hook.pk}/test/",
        {"body": json.dumps({"title": "Checkout down", "level": "critical", "id": "shop", "status": "resolved"})},
    )
    event = response.context["answer"]["event"]
    assert (event["title"], event["severity"], event["dedup_key"], event["resolve"]) == (
        "Checkout down",
        "SEV1",
        "shop",
        True,
    )
    assert "Checkout down" in response.content.decode()
    assert counts() == before


def test_console_of_another_teams_integration_is_not_found(admin_client_for, outsider, integration):
    outsider.is_staff = True
    outsider.save()
    response = admin_client_for(outsider).get(f"/admin/incidents/integration/{integration.pk}/test/")
    assert response.status_code in (403, 404)


def test_suppressed_events_are_listed(admin_client_for, manager, integration):
    SuppressedEvent.objects.create(integration=integration, summary="Test alert", dedup_key="t")
    page = admin_client_for(manager).get("/admin/incidents/suppressedevent/").content.decode()
    assert "Test alert" in page
