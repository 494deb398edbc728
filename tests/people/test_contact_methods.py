import pytest
from django.test import Client

from people.models import ContactMethod, NotificationRule

pytestmark = pytest.mark.django_db


def test_a_person_manages_their_own_contact_methods_and_rules(api_for, responder):
    api = api_for(responder)
    base = f"/api/v1/users/{responder.pk}"
    response = api.post(f"{base}/contact-methods/", {"kind": "sms", "address": "+41791234567"}, format="json")
    assert response.status_code == 201, response.content
    method_id = response.json()["id"]
    response = api.post(f"{base}/notification-rules/", {"contact_method": method_id, "delay_minutes": 5}, format="json")
    assert response.status_code == 201, response.content
    assert api.get(f"{base}/contact-methods/").json()["count"] == 1
    assert NotificationRule.objects.get().delay_minutes == 5


@pytest.mark.parametrize(
    ("kind", "address"),
    [
        ("sms", "0791234567"),
        ("voice", "+0123"),
        ("email", "not-an-email"),
        ("webhook", "ftp://example.com/x"),
        ("slack", "hooks.slack.com"),
        ("telegram", "my chat"),
        ("apprise", "nonsense://what"),
    ],
)
def test_addresses_are_validated_per_kind(api_for, responder, kind, address):
    response = api_for(responder).post(
        f"/api/v1/users/{responder.pk}/contact-methods/", {"kind": kind, "address": address}, format="json"
    )
    assert response.status_code == 400
    assert "address" in response.json()
    assert ContactMethod.objects.count() == 0


def test_unknown_kind_and_bad_delay_are_400(api_for, responder):
    api = api_for(responder)
    base = f"/api/v1/users/{responder.pk}"
    response = api.post(f"{base}/contact-methods/", {"kind": "pigeon", "address": "x"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()
    method = ContactMethod.objects.create(user=responder, kind="email", address="r@example.com")
    response = api.post(
        f"{base}/notification-rules/", {"contact_method": method.pk, "delay_minutes": 5000}, format="json"
    )
    assert response.status_code == 400 and "delay_minutes" in response.json()


def test_someone_elses_methods_are_refused_but_managers_may(api_for, responder, teammate, manager):
    base = f"/api/v1/users/{teammate.pk}"
    assert api_for(responder).get(f"{base}/contact-methods/").status_code == 403
    body = {"kind": "email", "address": "theo@example.com"}
    assert api_for(responder).post(f"{base}/contact-methods/", body, format="json").status_code == 403
    assert api_for(manager).post(f"{base}/contact-methods/", body, format="json").status_code == 201


def test_a_rule_cannot_use_another_persons_method(api_for, responder, teammate):
    theirs = ContactMethod.objects.create(user=teammate, kind="email", address="t@example.com")
    response = api_for(responder).post(
        f"/api/v1/users/{responder.pk}/notification-rules/", {"contact_method": theirs.pk}, format="json"
    )
    assert response.status_code == 400
    assert "contact_method" in response.json()


def test_admin_user_page_sends_a_test_notification(smtp_server, manager, responder):
    ContactMethod.objects.create(user=responder, kind="email", address="rita@example.com")
    client = Client()
    client.force_login(manager)
    page = client.get(f"/admin/auth/user/{responder.pk}/change/").content.decode()
    assert "rita@example.com" in page
    response = client.post(
        "/admin/auth/user/", {"action": "send_test", "_selected_action": [responder.pk]}, follow=True
    )
    assert "Test sent to" in response.content.decode()
    assert smtp_server.messages[0]["to"] == ["rita@example.com"]
