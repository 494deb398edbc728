"""The real Alertmanager re-sending a 500-alert group for 30 s to a live Piquet: one incident, every alert once."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from incidents.models import Incident, Status
from tests.incidents.conftest import wait_until

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]

ALERTS = 500
STORM_SECONDS = 30
GROUP_KEY = '{}:{alertname="PodDown"}'
# A notification after 1 s, then one every 2 s while the group changes, and the group again every 5 s.
STORM_ROUTE = {"group_by": ["alertname"], "group_wait": "1s", "group_interval": "2s", "repeat_interval": "5s"}
FAILED = ("Notify attempt failed", "Notify for alerts failed")


def rfc3339(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def pod_down(number, *, started, ends_at=None):
    alert = {
        "labels": {"alertname": "PodDown", "severity": "critical", "namespace": "shop", "pod": f"api-{number:03d}"},
        "annotations": {"summary": f"api-{number:03d} is down", "description": "The pod answers no probe."},
        "startsAt": rfc3339(started),
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
    }
    if ends_at is not None:
        alert["endsAt"] = rfc3339(ends_at)
    return alert


def test_a_500_alert_group_re_sent_for_30_seconds_is_one_incident_with_500_alerts_until_it_resolves(
    alertmanager, live_url, am_integration
):
    url = live_url + reverse("alertmanager-webhook", args=[am_integration.key])
    alertmanager.start(
        {
            "route": {"receiver": "piquet", **STORM_ROUTE},
            "receivers": [{"name": "piquet", "webhook_configs": [{"url": url}]}],
        }
    )
    service = am_integration.service
    began = time.monotonic()
    started = datetime.now(UTC) - timedelta(minutes=1)

    # The group grows by 100 alerts every 2 s, then stays as it is.
    for size in range(100, ALERTS + 1, 100):
        alertmanager.post_alerts([pod_down(n, started=started) for n in range(size - 100, size)])
        time.sleep(2)
    incident = wait_until(
        lambda: Incident.objects.filter(service=service, dedup_key=GROUP_KEY, alert_count=ALERTS).first(),
        timeout=15,
        message=f"an incident holding {ALERTS} alerts\n{alertmanager.log()[-3000:]}",
    )
    time.sleep(max(0.0, began + STORM_SECONDS - time.monotonic()))

    log = alertmanager.log()
    assert not [line for line in log.splitlines() if any(text in line for text in FAILED)], log[-3000:]
    assert log.count('msg="Notify success"') >= 8, log[-3000:]  # growing, then re-sent every 5 s
    assert Incident.objects.filter(service=service).count() == 1
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert incident.alert_count == incident.alerts.count() == ALERTS
    assert set(incident.alerts.values_list("status", flat=True)) == {"firing"}
    assert list(incident.timeline.values_list("kind", flat=True)) == ["triggered"]

    ended = datetime.now(UTC) - timedelta(seconds=1)
    alertmanager.post_alerts([pod_down(n, started=started, ends_at=ended) for n in range(ALERTS)])
    resolved = wait_until(
        lambda: Incident.objects.filter(pk=incident.pk, status=Status.RESOLVED).first(),
        timeout=15,
        message=f"the incident to resolve\n{alertmanager.log()[-3000:]}",
    )
    assert resolved.alert_count == resolved.alerts.count() == ALERTS
    assert set(resolved.alerts.values_list("status", flat=True)) == {"resolved"}
    assert Incident.objects.filter(service=service).count() == 1
    assert not [line for line in alertmanager.log().splitlines() if any(text in line for text in FAILED)]
