"""The real Prometheus Alertmanager sends to a live Piquet: webhook and PagerDuty receivers."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from incidents.models import Incident, Integration, Status
from tests.factories import IntegrationFactory
from tests.incidents.conftest import wait_until

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]

# Alertmanager notifies a group after `group_wait`, then every `group_interval`.
FAST_ROUTE = {"group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}


def rfc3339(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def site_down(*, ends_at=None):
    alert = {
        "labels": {"alertname": "SiteDown", "severity": "critical", "instance": "web-1"},
        "annotations": {"summary": "Website is down", "description": "web-1 answers 503"},
        "startsAt": rfc3339(datetime.now(UTC) - timedelta(minutes=1)),
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
    }
    if ends_at is not None:
        alert["endsAt"] = rfc3339(ends_at)
    return alert


def incident_with(service, dedup_key, status=None):
    incidents = Incident.objects.filter(service=service, dedup_key=dedup_key)
    if status:
        incidents = incidents.filter(status=status)
    return incidents.first()


def test_alert_fired_into_alertmanager_opens_an_incident_and_its_resolution_resolves_it(
    alertmanager, live_url, am_integration
):
    alertmanager.start(
        {
            "route": {"receiver": "piquet", **FAST_ROUTE},
            "receivers": [
                {
                    "name": "piquet",
                    "webhook_configs": [{"url": live_url + reverse("alertmanager-webhook", args=[am_integration.key])}],
                }
            ],
        }
    )
    service = am_integration.service
    group_key = '{}:{alertname="SiteDown"}'

    alertmanager.post_alerts([site_down()])
    incident = wait_until(
        lambda: incident_with(service, group_key),
        timeout=15,
        message=f"an incident from Alertmanager\n{alertmanager.log()}",
    )
    assert incident.status == Status.TRIGGERED
    assert incident.title == "Website is down"
    assert incident.description == "web-1 answers 503"
    assert incident.severity == "SEV1"
    alert = incident.alerts.get()
    assert alert.fingerprint
    assert alert.payload["alert"]["labels"]["instance"] == "web-1"

    alertmanager.post_alerts([site_down(ends_at=datetime.now(UTC) - timedelta(seconds=1))])
    resolved = wait_until(
        lambda: incident_with(service, group_key, status=Status.RESOLVED),
        timeout=15,
        message=f"the incident to resolve\n{alertmanager.log()}",
    )
    assert resolved.pk == incident.pk
    assert resolved.title == "Website is down"
    assert Incident.objects.filter(service=service).count() == 1
    assert list(resolved.timeline.values_list("kind", flat=True)) == ["triggered", "resolved"]
    assert resolved.alerts.get().status == "resolved"


def test_alertmanager_pagerduty_receiver_posting_to_v2_enqueue_opens_and_resolves_an_incident(
    alertmanager, live_url, service
):
    integration = IntegrationFactory(service=service, name="Alertmanager PD", kind=Integration.Kind.EVENTS_V2)
    alertmanager.start(
        {
            "route": {"receiver": "pagerduty", **FAST_ROUTE},
            "receivers": [
                {
                    "name": "pagerduty",
                    "pagerduty_configs": [{"url": f"{live_url}/v2/enqueue", "routing_key": integration.key}],
                }
            ],
        }
    )
    # Alertmanager's PagerDuty receiver deduplicates on sha256 of the group key.
    dedup_key = hashlib.sha256(b'{}:{alertname="SiteDown"}').hexdigest()

    alertmanager.post_alerts([site_down()])
    incident = wait_until(
        lambda: incident_with(service, dedup_key),
        timeout=15,
        message=f"an incident from Alertmanager's PagerDuty receiver\n{alertmanager.log()}",
    )
    assert incident.status == Status.TRIGGERED
    assert "SiteDown" in incident.title
    assert incident.alerts.get().action == "trigger"

    alertmanager.post_alerts([site_down(ends_at=datetime.now(UTC) - timedelta(seconds=1))])
    resolved = wait_until(
        lambda: incident_with(service, dedup_key, status=Status.RESOLVED),
        timeout=15,
        message=f"the incident to resolve\n{alertmanager.log()}",
    )
    assert resolved.pk == incident.pk
    assert resolved.resolved_by is None
    assert resolved.timeline.get(kind="resolved").actor_name == "Alertmanager PD"
    assert sorted(resolved.alerts.values_list("action", flat=True)) == ["resolve", "trigger"]
