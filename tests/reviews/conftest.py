import datetime as dt

import pytest
import time_machine

from incidents import lifecycle
from incidents.models import Incident
from releases.deployments import record_deployment

T0 = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)  # a Friday afternoon


def trigger(client, integration, *, severity="critical", dedup_key="checkout-502", summary="Checkout answers 502"):
    event = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": summary, "source": "probe", "severity": severity},
    }
    assert client.post("/v2/enqueue", event, content_type="application/json").status_code == 202
    return Incident.objects.get(dedup_key=dedup_key)


@pytest.fixture
def worked_incident(client, integration, responder, run_tasks):
    """A SEV1 of the website: deployed at 14:30, alert at 15:00, acknowledged at 15:05, resolved at 15:40."""
    with time_machine.travel(T0 - dt.timedelta(minutes=30), tick=False):
        deployment, _decision = record_deployment(
            service=integration.service, version="v42", environment="production", actor="ci-bot", source="api"
        )
    with time_machine.travel(T0 - dt.timedelta(hours=30), tick=False):
        record_deployment(service=integration.service, version="v-ancient", environment="production", actor="ci")
    with time_machine.travel(T0, tick=False), run_tasks():
        incident = trigger(client, integration)
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False), run_tasks():
        lifecycle.acknowledge(incident, by=responder)
    incident.refresh_from_db()
    incident.deployment = deployment
    return incident


@pytest.fixture
def resolved_incident(worked_incident, responder, run_tasks):
    with time_machine.travel(T0 + dt.timedelta(minutes=40), tick=False), run_tasks():
        lifecycle.resolve(worked_incident, by=responder)
    worked_incident.refresh_from_db()
    return worked_incident
