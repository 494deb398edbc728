"""Webhooks and other outbound URLs never reach internal addresses unless the operator allows their network."""

import pytest

from delivery.transports import Message, Target, deliver
from people.models import ContactMethod
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::1]:8080/hook",
        "http://localhost:8000/admin/",
    ],
)
def test_a_webhook_to_an_internal_address_is_refused_when_saved(api_for, responder, settings, address):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = []
    response = api_for(responder).post(
        f"/api/v1/users/{responder.pk}/contact-methods/", {"kind": "webhook", "address": address}, format="json"
    )
    assert response.status_code == 400
    assert "internal address" in response.json()["address"][0]
    assert not ContactMethod.objects.exists()


def test_an_allowed_network_lets_the_webhook_through(api_for, responder, settings, http_receiver):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    response = api_for(responder).post(
        f"/api/v1/users/{responder.pk}/contact-methods/",
        {"kind": "webhook", "address": http_receiver.url + "/hook"},
        format="json",
    )
    assert response.status_code == 201


def test_the_address_is_checked_again_at_send_time_and_answers_are_kept_short(settings, http_receiver):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = []
    result = deliver(Target(kind="webhook", address=http_receiver.url + "/hook"), Message(subject="s", text="t"))
    assert not result.ok and "internal address" in result.error
    assert http_receiver.requests == []

    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    http_receiver.status = 500
    http_receiver.body = b"x" * 5000 + b" http://internal.example/secret?token=abc"
    failed = deliver(Target(kind="webhook", address=http_receiver.url + "/hook"), Message(subject="s", text="t"))
    assert not failed.ok
    assert failed.error.startswith("HTTP 500") and len(failed.error) <= 200
    assert "token=abc" not in failed.error


def test_an_apprise_url_to_an_internal_host_is_refused(settings):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = []
    user = UserFactory()
    method = ContactMethod(user=user, kind="apprise", address="json://127.0.0.1:9/notify")
    with pytest.raises(Exception, match="internal address"):
        method.full_clean()
