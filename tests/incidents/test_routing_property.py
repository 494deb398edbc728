"""Whatever a client posts to a webhook integration or to the test console, with rules in place: never a 5xx."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.models import Alert, Incident, Integration, RoutingRule, SuppressedEvent
from tests.conftest import api_client_for
from tests.factories import IntegrationFactory, ServiceFactory
from tests.incidents.test_ingest_property import ANYTHING, HYPOTHESIS, JSON, RAW_BODIES, alertmanager_body

pytestmark = pytest.mark.django_db

KEYS = st.sampled_from(["title", "summary", "id", "status", "severity", "labels", "team", "message"])
BODIES = st.dictionaries(KEYS, ANYTHING, max_size=6) | JSON


@pytest.fixture
def setup(db, manager):
    other = ServiceFactory(slug="elsewhere")
    hook = IntegrationFactory(kind=Integration.Kind.WEBHOOK, title_expr="title || summary || labels", dedup_expr="id")
    am = IntegrationFactory(kind=Integration.Kind.ALERTMANAGER)
    for integration, root in ((hook, "team"), (am, "labels.team")):
        RoutingRule.objects.create(
            integration=integration,
            position=1,
            match={"any": [{"field": root, "op": "regex", "value": "^pay"}]},
            service=other,
            title_template="{title}{labels.alertname} {id}",
            dedup_key_template="{id}{labels.instance}",
        )
        RoutingRule.objects.create(
            integration=integration, position=2, match={"all": [{"field": "status", "op": "exists"}]}, drop=True
        )
    return {"hook": hook, "am": am, "api": api_client_for(manager)}


def counts():
    return Incident.objects.count(), Alert.objects.count(), SuppressedEvent.objects.count()


def post(client, url, body):
    before = counts()
    data = body if isinstance(body, bytes) else json.dumps(body)
    response = client.post(url, data=data, content_type="application/json")
    assert response.status_code < 500, (url, body, response.content[:300])
    if response.status_code >= 400:
        assert counts() == before, "a refused request wrote something"
    return response


@HYPOTHESIS
@given(body=BODIES)
def test_webhook_answers_any_json_without_a_server_error(client, setup, body):
    post(client, f"/api/v1/integrations/{setup['hook'].key}/webhook/", body)


@HYPOTHESIS
@given(body=RAW_BODIES)
def test_webhook_answers_raw_bytes_without_a_server_error(client, setup, body):
    post(client, f"/api/v1/integrations/{setup['hook'].key}/webhook/", body)


@HYPOTHESIS
@given(labels=st.dictionaries(st.sampled_from(["team", "instance", "alertname"]), ANYTHING, max_size=3))
def test_routed_alertmanager_answers_any_labels_without_a_server_error(client, setup, labels):
    body = alertmanager_body()
    body["alerts"][0]["labels"] = labels
    post(client, f"/api/v1/integrations/{setup['am'].key}/alertmanager/", body)


@HYPOTHESIS
@given(body=BODIES, which=st.sampled_from(["hook", "am"]))
def test_console_answers_any_json_and_writes_nothing(setup, body, which):
    before = counts()
    url = f"/api/v1/integrations/{setup[which].pk}/rules/test/"
    response = setup["api"].post(url, json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 400), response.content[:300]
    assert counts() == before
