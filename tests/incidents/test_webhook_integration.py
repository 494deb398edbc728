"""The generic webhook integration: any JSON body, read with JMESPath expressions set per integration."""

import json

import pytest

from incidents.models import Alert, Incident, Integration, RoutingRule, SuppressedEvent
from tests.factories import IntegrationFactory, ServiceFactory

pytestmark = pytest.mark.django_db

GRAFANA_FIRING = {
    "receiver": "piquet",
    "status": "firing",
    "groupKey": '{}:{alertname="DiskFull"}',
    "title": "[FIRING:1] DiskFull (db-1)",
    "message": "Disk 95% full on db-1",
    "commonLabels": {"alertname": "DiskFull", "severity": "critical", "team": "payments"},
    "alerts": [{"status": "firing", "labels": {"instance": "db-1"}, "fingerprint": "abc"}],
}


@pytest.fixture
def hook(service):
    return IntegrationFactory(
        service=service,
        name="Grafana",
        kind=Integration.Kind.WEBHOOK,
        title_expr="message || title",
        severity_expr="commonLabels.severity",
        dedup_expr="groupKey",
        resolve_expr="status == 'resolved'",
    )


def post(client, integration, body, **extra):
    payload = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(
        f"/api/v1/integrations/{integration.key}/webhook/", payload, content_type="application/json", **extra
    )


def test_custom_body_becomes_the_expected_incident_and_a_later_body_resolves_it(client, hook):
    response = post(client, hook, GRAFANA_FIRING)
    assert response.status_code == 202, response.json()
    incident = Incident.objects.get()
    assert response.json()["incident"] == incident.number
    assert (incident.title, incident.severity, incident.dedup_key, incident.status) == (
        "Disk 95% full on db-1",
        "SEV1",
        GRAFANA_FIRING["groupKey"],
        "triggered",
    )
    assert Alert.objects.get().payload["payload"]["custom_details"] == GRAFANA_FIRING

    assert post(client, hook, {**GRAFANA_FIRING, "message": "still"}).status_code == 202
    assert Incident.objects.get().alert_count == 2

    assert post(client, hook, {**GRAFANA_FIRING, "status": "resolved"}).status_code == 202
    assert Incident.objects.get().status == "resolved"


def test_defaults_read_common_shapes(client, service):
    kuma = IntegrationFactory(service=service, kind=Integration.Kind.WEBHOOK, name="Kuma")
    assert post(client, kuma, {"summary": "Site down", "id": "site", "severity": "WARNING"}).status_code == 202
    incident = Incident.objects.get()
    assert (incident.title, incident.severity, incident.dedup_key) == ("Site down", "SEV3", "site")
    assert post(client, kuma, {"id": "site", "status": "resolved"}).status_code == 202
    assert Incident.objects.get().status == "resolved"


@pytest.mark.parametrize(
    ("word", "severity"),
    [("critical", "SEV1"), ("Error", "SEV2"), ("sev4", "SEV4"), ("SEV2", "SEV2"), ("bogus", "SEV3"), (None, "SEV3")],
)
def test_severity_words_and_the_default(client, hook, word, severity):
    body = {**GRAFANA_FIRING, "commonLabels": {"severity": word}}
    assert post(client, hook, body).status_code == 202
    assert Incident.objects.get().severity == severity


def test_non_string_results_become_one_line_titles(client, service):
    integration = IntegrationFactory(service=service, kind=Integration.Kind.WEBHOOK, title_expr="details")
    body = {"details": {"a": [1, 2], "b": "x\ny"}, "id": "k"}
    assert post(client, integration, body).status_code == 202
    title = Incident.objects.get().title
    assert "\n" not in title and '"a":[1,2]' in title
    integration.title_expr = "text"
    integration.save()
    assert post(client, integration, {"text": "word " * 1000, "id": "long"}).status_code == 202
    assert len(Incident.objects.get(dedup_key="long").title) <= 1024


def test_resolve_without_a_key_is_refused(client, hook):
    response = post(client, hook, {"status": "resolved"})
    assert response.status_code == 400
    assert "dedup_expr" in response.json()["errors"][0]


def test_expression_failing_on_a_body_is_a_400_naming_it(client, service):
    integration = IntegrationFactory(
        service=service, kind=Integration.Kind.WEBHOOK, title_expr="length(title)", dedup_expr="id"
    )
    response = post(client, integration, {"title": 5, "id": "x"})
    assert response.status_code == 400
    assert "title_expr" in response.json()["errors"][0]
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'"text"',
        b"null",
        b"[" * 5000 + b"]" * 5000,
        b'{"a": ' * 70 + b"1" + b"}" * 70,
        b'{"a": 1e400}',
        b"not json",
    ],
)
def test_hostile_bodies_are_refused_with_a_4xx(client, hook, body):
    response = post(client, hook, body)
    assert 400 <= response.status_code < 500
    assert Incident.objects.count() == 0 and Alert.objects.count() == 0


def test_huge_strings_are_bounded(client, hook):
    body = {**GRAFANA_FIRING, "message": "x" * 400_000, "groupKey": "k" * 100_000}
    response = post(client, hook, body)
    assert response.status_code == 202
    incident = Incident.objects.get()
    assert len(incident.title) <= 1024 and incident.dedup_key.startswith("sha256:")
    assert post(client, hook, {"a": "x" * 600_000}).status_code == 413


def test_key_as_bearer_header(client, hook):
    url = "/api/v1/integrations/webhook/"
    body = json.dumps({"title": "Down", "id": "x"})
    assert client.post(url, body, content_type="application/json").status_code == 401
    response = client.post(url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {hook.key}")
    assert response.status_code == 202
    assert Incident.objects.get().title == "Down"


def test_wrong_key_and_wrong_kind(client, integration):
    assert post(client, integration, {"title": "x"}).status_code == 400
    missing = client.post("/api/v1/integrations/nope/webhook/", "{}", content_type="application/json")
    assert missing.status_code == 404


def test_routing_rules_read_the_body(client, hook):
    payments = ServiceFactory(slug="payments")
    RoutingRule.objects.create(
        integration=hook,
        position=1,
        match={"all": [{"field": "commonLabels.team", "op": "equals", "value": "payments"}]},
        service=payments,
        title_template="{commonLabels.alertname} ({alerts.0.labels.instance})",
    )
    RoutingRule.objects.create(
        integration=hook, position=2, match={"any": [{"field": "test", "op": "exists"}]}, drop=True
    )
    assert post(client, hook, GRAFANA_FIRING).status_code == 202
    incident = Incident.objects.get()
    assert incident.service == payments and incident.title == "DiskFull (db-1)"
    assert post(client, hook, {"test": True, "id": "t"}).status_code == 202
    assert Incident.objects.count() == 1 and SuppressedEvent.objects.count() == 1


def test_invalid_expressions_are_refused_through_the_api(api_for, manager, service):
    api = api_for(manager)
    url = f"/api/v1/services/{service.pk}/integrations/"
    response = api.post(url, {"name": "Hook", "kind": "webhook", "title_expr": "title ||"}, format="json")
    assert response.status_code == 400
    assert "title_expr" in response.json()
    response = api.post(url, {"name": "Hook", "kind": "webhook", "dedup_expr": "fingerprint"}, format="json")
    assert response.status_code == 201
    assert response.json()["url"].endswith("/webhook/")
