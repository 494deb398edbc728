import json

import pdpyras
import pytest

from incidents.models import Alert, Incident, TimelineEntry

pytestmark = pytest.mark.django_db


def trigger(http, integration, dedup_key=None, summary="Website is down", severity="critical", **extra):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "payload": {"summary": summary, "source": "probe-1", "severity": severity},
        **extra,
    }
    if dedup_key:
        body["dedup_key"] = dedup_key
    return http.post("/v2/enqueue", body, content_type="application/json")


def event(client, integration, action, dedup_key, path="/v2/enqueue"):
    body = {"routing_key": integration.key, "event_action": action, "dedup_key": dedup_key}
    return client.post(path, body, content_type="application/json")


def test_trigger_opens_an_incident_and_answers_like_pagerduty(client, integration):
    response = trigger(client, integration, dedup_key="disk-full")
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "disk-full"}
    incident = Incident.objects.get()
    assert incident.title == "Website is down"
    assert incident.severity == "SEV1"
    assert incident.status == "triggered"
    assert incident.alert_count == 1
    assert incident.number >= 1
    assert incident.timeline.filter(kind="triggered").count() == 1
    alert = Alert.objects.get()
    assert alert.incident == incident
    assert alert.source == "probe-1"
    assert "routing_key" not in alert.payload


def test_trigger_without_dedup_key_gets_a_generated_one(client, integration):
    response = trigger(client, integration)
    assert response.status_code == 202
    key = response.json()["dedup_key"]
    assert len(key) == 32
    assert Incident.objects.get().dedup_key == key


def test_second_trigger_with_same_dedup_key_joins_open_incident(client, integration):
    trigger(client, integration, dedup_key="k")
    trigger(client, integration, dedup_key="k", summary="Still down")
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert incident.alert_count == 2
    assert Alert.objects.filter(incident=incident).count() == 2


def test_severities_map_to_sev_levels(client, integration):
    for index, (severity, level) in enumerate(
        [("critical", "SEV1"), ("error", "SEV2"), ("warning", "SEV3"), ("info", "SEV4")]
    ):
        trigger(client, integration, dedup_key=f"k{index}", severity=severity)
        assert Incident.objects.get(dedup_key=f"k{index}").severity == level


def test_acknowledge_and_resolve_events_act_on_the_open_incident(client, integration):
    trigger(client, integration, dedup_key="k")
    assert event(client, integration, "acknowledge", "k").status_code == 202
    incident = Incident.objects.get()
    assert incident.status == "acknowledged"
    assert event(client, integration, "resolve", "k", path="/api/v1/events/").status_code == 202
    incident.refresh_from_db()
    assert incident.status == "resolved"
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds == ["triggered", "acknowledged", "resolved"]
    assert TimelineEntry.objects.filter(kind="resolved").get().actor_name == "Prometheus"


def test_trigger_after_resolve_opens_a_new_incident(client, integration):
    trigger(client, integration, dedup_key="k")
    event(client, integration, "resolve", "k")
    trigger(client, integration, dedup_key="k")
    assert Incident.objects.count() == 2
    assert Incident.objects.open().count() == 1
    # The key was open a moment ago: the trigger that finds it resolved opens the next incident all the same.
    old, new = Incident.objects.order_by("pk")
    assert (old.status, old.alert_count, new.status, new.alert_count) == ("resolved", 1, "triggered", 1)
    assert list(new.alerts.values_list("action", flat=True)) == ["trigger"]


def test_acknowledge_or_resolve_without_incident_is_recorded_not_refused(client, integration):
    assert event(client, integration, "resolve", "nothing-open").status_code == 202
    assert event(client, integration, "acknowledge", "nothing-open").status_code == 202
    assert Incident.objects.count() == 0
    assert Alert.objects.filter(incident=None).count() == 2


def test_invalid_trigger_names_every_bad_field(client, integration):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": "x" * 256,
        "payload": {"summary": "", "severity": "catastrophic", "timestamp": "yesterday"},
    }
    response = client.post("/v2/enqueue", body, content_type="application/json")
    assert response.status_code == 400
    data = response.json()
    assert data["status"] == "invalid event"
    joined = " ".join(data["errors"])
    for field in ("dedup_key", "payload.summary", "payload.source", "payload.severity", "payload.timestamp"):
        assert field in joined
    assert Alert.objects.count() == 0


def test_unknown_action_and_missing_dedup_key_are_refused(client, integration):
    body = {"routing_key": integration.key, "event_action": "explode"}
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 400
    body = {"routing_key": integration.key, "event_action": "resolve"}
    response = client.post("/v2/enqueue", body, content_type="application/json")
    assert response.status_code == 400
    assert "dedup_key" in response.json()["errors"][0]


def test_unknown_or_disabled_key_is_refused_with_a_message(client, integration):
    response = client.post(
        "/v2/enqueue", {"routing_key": "nope", "event_action": "trigger"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Unknown integration key."
    integration.enabled = False
    integration.save()
    response = trigger(client, integration)
    assert response.status_code == 403
    assert "disabled" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('{"a": NaN}', "application/json", 400),
        ("routing_key=abc", "application/x-www-form-urlencoded", 415),
        ("[" * 100_000, "application/json", 400),
    ],
)
def test_malformed_bodies_get_json_errors(client, integration, body, content_type, status):
    response = client.post("/v2/enqueue", body, content_type=content_type)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"]


def test_body_over_512_kb_is_refused_with_413(client, integration):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "payload": {"summary": "big", "source": "s", "severity": "info", "custom_details": {"x": "a" * 600_000}},
    }
    response = client.post("/v2/enqueue", json.dumps(body), content_type="application/json")
    assert response.status_code == 413
    assert response.json()["message"].startswith("The body is larger than 512 KB")
    assert Alert.objects.count() == 0


def test_wrong_method_gets_json_405(client):
    response = client.get("/v2/enqueue")
    assert response.status_code == 405
    assert response.json()["message"]


def test_nul_characters_are_refused_not_crashing(client, integration):
    body = (
        '{"routing_key": "' + integration.key + '", "event_action": "trigger", '
        '"payload": {"summary": "a\\u0000b", "source": "s", "severity": "info"}}'
    )
    response = client.post("/v2/enqueue", body, content_type="application/json")
    assert response.status_code == 400
    assert "NUL" in response.json()["message"]


def test_optional_fields_are_kept_with_the_alert(client, integration):
    trigger(
        client,
        integration,
        dedup_key="k",
        client="Grafana",
        client_url="https://grafana.example.com",
        links=[{"href": "https://runbook.example.com", "text": "Runbook"}],
        images=[],
        payload={
            "summary": "s",
            "source": "db-1",
            "severity": "warning",
            "timestamp": "2026-11-27T10:00:00.123456789Z",
            "component": "postgres",
            "group": "prod",
            "class": "disk",
            "custom_details": {"free": "1%"},
        },
    )
    alert = Alert.objects.get()
    assert alert.payload["client"] == "Grafana"
    assert alert.payload["payload"]["custom_details"] == {"free": "1%"}
    assert alert.payload["links"][0]["text"] == "Runbook"


def test_pagerduty_client_can_trigger_and_resolve(live_server, integration):
    session = pdpyras.EventsAPISession(integration.key)
    session.url = live_server.url
    dedup_key = session.trigger("Checkout is failing", "shop-1", severity="error")
    assert Incident.objects.get(dedup_key=dedup_key).status == "triggered"
    session.resolve(dedup_key)
    session.close()  # no keep-alive connection may outlive the live server's database
    assert Incident.objects.get(dedup_key=dedup_key).status == "resolved"


def test_a_key_works_only_on_the_endpoint_of_its_kind(client, integration, am_integration):
    response = trigger(client, am_integration)
    assert response.status_code == 400
    assert "/alertmanager/" in response.json()["message"]
    response = client.post(
        f"/api/v1/integrations/{integration.key}/alertmanager/",
        {"version": "4", "groupKey": "g", "status": "firing", "alerts": []},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "/v2/enqueue" in response.json()["message"]
    assert Incident.objects.count() == 0
