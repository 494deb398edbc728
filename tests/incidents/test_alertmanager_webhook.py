import copy

import pytest

from incidents.models import Alert, Incident

pytestmark = pytest.mark.django_db

GROUP_KEY = '{}:{alertname="HighErrorRate"}'


def notification(status="firing", alerts=None, annotations=None, **extra):
    alerts = alerts if alerts is not None else [firing_alert("aaa"), firing_alert("bbb", instance="web-2")]
    return {
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "piquet",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "severity": "critical"},
        "commonAnnotations": annotations if annotations is not None else {"summary": "Error rate above 5%"},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
        **extra,
    }


def firing_alert(fingerprint, instance="web-1", status="firing", ends_at="0001-01-01T00:00:00Z"):
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "instance": instance, "severity": "critical"},
        "annotations": {"summary": f"Error rate above 5% on {instance}"},
        "startsAt": "2026-11-27T18:40:12.123456789Z",
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def post(client, integration, body):
    return client.post(f"/api/v1/integrations/{integration.key}/alertmanager/", body, content_type="application/json")


def test_firing_group_opens_one_incident_tracking_each_alert(client, am_integration):
    response = post(client, am_integration, notification())
    assert response.status_code == 202
    incident = Incident.objects.get()
    assert response.json()["incident"] == incident.number
    assert incident.title == "Error rate above 5%"
    assert incident.severity == "SEV1"
    assert incident.dedup_key == GROUP_KEY
    assert incident.alert_count == 2
    assert set(Alert.objects.values_list("fingerprint", flat=True)) == {"aaa", "bbb"}


def test_redelivery_of_the_same_body_changes_nothing(client, am_integration):
    body = notification()
    post(client, am_integration, body)
    post(client, am_integration, copy.deepcopy(body))
    post(client, am_integration, copy.deepcopy(body))
    incident = Incident.objects.get()
    assert incident.alert_count == 2
    assert Alert.objects.count() == 2
    assert incident.timeline.count() == 1


def test_new_alert_in_the_group_joins_the_incident(client, am_integration):
    post(client, am_integration, notification())
    post(client, am_integration, notification(alerts=[firing_alert("aaa"), firing_alert("ccc", instance="web-3")]))
    incident = Incident.objects.get()
    assert incident.alert_count == 3


def test_resolved_group_resolves_the_incident_and_keeps_annotations(client, am_integration):
    post(client, am_integration, notification())
    resolved = [
        {**firing_alert("aaa", status="resolved", ends_at="2026-11-27T19:00:00Z"), "annotations": {}},
        {**firing_alert("bbb", status="resolved", ends_at="2026-11-27T19:00:00Z"), "annotations": {}},
    ]
    response = post(client, am_integration, notification(status="resolved", alerts=resolved, annotations={}))
    assert response.status_code == 202
    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.title == "Error rate above 5%"
    alert = Alert.objects.get(fingerprint="aaa")
    assert alert.status == "resolved"
    assert alert.payload["alert"]["annotations"] == {"summary": "Error rate above 5% on web-1"}
    # Alertmanager re-sends the resolve: still one resolved incident, nothing new.
    post(client, am_integration, notification(status="resolved", alerts=resolved, annotations={}))
    assert Incident.objects.count() == 1
    assert Alert.objects.count() == 2


def test_group_firing_again_after_resolve_opens_a_new_incident(client, am_integration):
    post(client, am_integration, notification())
    post(client, am_integration, notification(status="resolved"))
    post(client, am_integration, notification())
    assert Incident.objects.count() == 2
    assert Incident.objects.open().count() == 1


def test_title_falls_back_to_group_labels_and_severity_defaults_to_error(client, am_integration):
    body = notification(annotations={})
    body["commonLabels"] = {"alertname": "HighErrorRate"}
    for alert in body["alerts"]:
        alert["labels"].pop("severity")
    post(client, am_integration, body)
    incident = Incident.objects.get()
    assert incident.title == "alertname=HighErrorRate"
    assert incident.severity == "SEV2"


def test_very_long_group_key_is_hashed_into_a_dedup_key(client, am_integration):
    body = notification(groupKey="{}:{" + "x" * 400 + "}")
    post(client, am_integration, body)
    post(client, am_integration, body)
    incident = Incident.objects.get()
    assert incident.dedup_key.startswith("sha256:")
    assert len(incident.dedup_key) <= 255


def test_unknown_key_is_404_and_disabled_is_403(client, am_integration):
    response = client.post("/api/v1/integrations/nope/alertmanager/", notification(), content_type="application/json")
    assert response.status_code == 404
    assert response.json()["message"] == "Unknown integration key."
    am_integration.enabled = False
    am_integration.save()
    assert post(client, am_integration, notification()).status_code == 403


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(version="3"), "version"),
        (lambda b: b.pop("groupKey"), "groupKey"),
        (lambda b: b.update(status="burning"), "status"),
        (lambda b: b.update(alerts="none"), "alerts"),
        (lambda b: b["alerts"][0].update(startsAt="soon"), "startsAt"),
        (lambda b: b["alerts"].append(7), "alerts[2]"),
    ],
)
def test_invalid_notifications_are_refused_naming_the_field(client, am_integration, mutate, field):
    body = notification()
    mutate(body)
    response = post(client, am_integration, body)
    assert response.status_code == 400
    assert any(field in error for error in response.json()["errors"])
    assert Incident.objects.count() == 0
