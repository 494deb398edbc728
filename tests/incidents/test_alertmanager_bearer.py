"""The Alertmanager key travels in a header, not in the URL (so it stays out of access logs)."""

import pytest
from django.urls import reverse

from incidents.models import Incident
from tests.incidents.conftest import wait_until
from tests.incidents.test_alertmanager_binary import FAST_ROUTE, site_down

URL = "/api/v1/integrations/alertmanager/"


def notification():
    return {
        "version": "4",
        "groupKey": '{}:{alertname="SiteDown"}',
        "status": "firing",
        "receiver": "piquet",
        "alerts": [site_down()],
        "commonAnnotations": {"summary": "Website is down"},
    }


@pytest.mark.django_db
def test_the_key_as_a_bearer_token_is_accepted_and_a_missing_one_is_a_401(client, am_integration):
    answer = client.post(
        URL, notification(), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {am_integration.key}"
    )
    assert answer.status_code == 202, answer.content
    assert Incident.objects.get().title == "Website is down"

    missing = client.post(URL, notification(), content_type="application/json")
    assert missing.status_code == 401
    assert "Authorization: Bearer" in missing.json()["message"]
    wrong = client.post(URL, notification(), content_type="application/json", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 404


@pytest.mark.external
@pytest.mark.django_db(transaction=True)
def test_the_real_alertmanager_sends_the_key_with_http_config_authorization(alertmanager, live_url, am_integration):
    alertmanager.start(
        {
            "route": {"receiver": "piquet", **FAST_ROUTE},
            "receivers": [
                {
                    "name": "piquet",
                    "webhook_configs": [
                        {
                            "url": live_url + reverse("alertmanager-webhook-bearer"),
                            "http_config": {"authorization": {"type": "Bearer", "credentials": am_integration.key}},
                        }
                    ],
                }
            ],
        }
    )
    alertmanager.post_alerts([site_down()])
    incident = wait_until(
        lambda: Incident.objects.filter(service=am_integration.service).first(),
        timeout=20,
        message="the incident from Alertmanager's notification",
    )
    assert incident.title == "Website is down"
    assert am_integration.key not in alertmanager.log()
