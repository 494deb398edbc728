"""Whatever a client posts to the ingestion endpoints, Piquet answers 2xx or 4xx, and a 4xx writes nothing."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Alert, Incident, Integration
from releases.models import Deployment
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
NASTY = st.sampled_from(
    [
        "a\ud800b",
        "Disk full\nsee runbook",
        "\r\nBcc: victim@example.com",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "1893-01-01T00:00:00Z",
        "x\x00y",
        "‮evil",
        "9" * 400,
    ]
)
ANYTHING = JSON | NASTY | st.text(st.characters(categories=["Cs", "Cc", "Zs", "Lu", "Nd"]), max_size=40)
HYPOTHESIS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b'{"a": 1e400}',
            b'{"a": -1e400}',
            b'{"a": NaN}',
            b'{"a": "\\ud800"}',
            b'{"a": "x\\u0000y"}',
            b"[" * 5000 + b"]" * 5000,
            b'{"a": ' + b"9" * 5000 + b"}",
        ]
    ),
)


@pytest.fixture
def keys(db):
    return {
        "events": IntegrationFactory(kind=Integration.Kind.EVENTS_V2).key,
        "alertmanager": IntegrationFactory(kind=Integration.Kind.ALERTMANAGER).key,
    }


def counts():
    return Incident.objects.count(), Alert.objects.count(), Deployment.objects.count()


def post(client, url, body):
    before = counts()
    data = body if isinstance(body, bytes) else json.dumps(body)
    response = client.post(url, data=data, content_type="application/json")
    assert response.status_code < 500, (url, body, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    if response.status_code >= 400:
        assert "message" in response.json() or "detail" in response.json()
        assert counts() == before, "a refused request wrote something"
    return response


def trigger_with(key, **payload_overrides):
    payload = {"summary": "Disk full", "source": "db-1", "severity": "critical", **payload_overrides}
    return {"routing_key": key, "event_action": "trigger", "payload": payload}


@HYPOTHESIS
@given(body=JSON)
def test_events_v2_answers_any_json_without_a_server_error(client, keys, body):
    post(client, "/v2/enqueue", body)


@HYPOTHESIS
@given(
    field=st.sampled_from(["summary", "source", "severity", "timestamp", "component", "group", "class"]), value=ANYTHING
)
def test_events_v2_answers_any_value_in_any_payload_field(client, keys, field, value):
    post(client, "/v2/enqueue", trigger_with(keys["events"], **{field: value}))


@HYPOTHESIS
@given(field=st.sampled_from(["event_action", "dedup_key", "payload", "links", "images", "client"]), value=ANYTHING)
def test_events_v2_answers_any_value_in_any_top_field(client, keys, field, value):
    post(client, "/v2/enqueue", {**trigger_with(keys["events"]), field: value})


@HYPOTHESIS
@given(body=RAW_BODIES)
def test_every_ingest_endpoint_answers_raw_bytes_without_a_server_error(client, keys, body):
    for url in ("/v2/enqueue", "/v2/change/enqueue", f"/api/v1/integrations/{keys['alertmanager']}/alertmanager/"):
        post(client, url, body)


def alertmanager_body(**overrides):
    alert = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "severity": "critical"},
        "annotations": {"summary": "Disk full"},
        "startsAt": "2026-12-01T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "abc",
    }
    body = {"version": "4", "groupKey": '{}:{alertname="DiskFull"}', "status": "firing", "alerts": [alert]}
    return {**body, **overrides}


@HYPOTHESIS
@given(
    field=st.sampled_from(
        ["version", "groupKey", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations", "externalURL"]
    ),
    value=ANYTHING,
)
def test_alertmanager_answers_any_value_in_any_field(client, keys, field, value):
    post(client, f"/api/v1/integrations/{keys['alertmanager']}/alertmanager/", alertmanager_body(**{field: value}))


@HYPOTHESIS
@given(
    field=st.sampled_from(["status", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "generatorURL"]),
    value=ANYTHING,
)
def test_alertmanager_answers_any_value_in_any_alert_field(client, keys, field, value):
    body = alertmanager_body()
    body["alerts"][0][field] = value
    post(client, f"/api/v1/integrations/{keys['alertmanager']}/alertmanager/", body)


@HYPOTHESIS
@given(field=st.sampled_from(["summary", "timestamp", "source", "custom_details", "links"]), value=ANYTHING)
def test_change_events_answer_any_value_in_any_field(client, keys, field, value):
    payload = {"summary": "Deployed 2.4.1", "timestamp": "2026-12-01T10:00:00Z", "source": "ci", field: value}
    post(client, "/v2/change/enqueue", {"routing_key": keys["events"], "payload": payload})


@HYPOTHESIS
@given(body=JSON)
def test_change_events_answer_any_json_without_a_server_error(client, keys, body):
    post(client, "/v2/change/enqueue", body)
