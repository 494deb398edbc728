import hashlib
import hmac
import json

import pytest
from apprise.plugins.twilio import NotifyTwilio

from delivery.transports import Message, deliver
from people.models import ContactMethod
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def method(kind, address, user=None):
    return ContactMethod.objects.create(user=user or UserFactory(), kind=kind, address=address)


MESSAGE = Message(
    subject="[Piquet] #42 Website is down",
    text="#42 Website is down (SEV1)",
    event={"event": "incident.page", "incident": {"number": 42}},
    url="http://127.0.0.1:8000/ack/abc",
)


def test_email_reaches_a_real_smtp_server(smtp_server):
    result = deliver(method("email", "rita@example.com"), MESSAGE)
    assert result.ok
    [mail] = smtp_server.messages
    assert mail["to"] == ["rita@example.com"]
    assert "Website is down" in mail["data"]
    assert "http://127.0.0.1:8000/ack/abc" in mail["data"]


def test_webhook_is_a_signed_json_post(http_receiver):
    hook = method("webhook", http_receiver.url + "/hook")
    result = deliver(hook, MESSAGE)
    assert result.ok and result.response == "HTTP 200"
    [request] = http_receiver.requests
    assert json.loads(request["body"]) == MESSAGE.event
    expected = "sha256=" + hmac.new(hook.secret.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Piquet-Signature"] == expected


def test_webhook_failure_is_reported_not_raised(http_receiver):
    http_receiver.status = 500
    result = deliver(method("webhook", http_receiver.url + "/hook"), MESSAGE)
    assert not result.ok
    assert result.response == "HTTP 500"
    unreachable = deliver(method("webhook", "http://127.0.0.1:9/nothing"), MESSAGE)
    assert not unreachable.ok and "ConnectionError" in unreachable.error


def test_apprise_url_delivers_json(http_receiver):
    result = deliver(method("apprise", http_receiver.url.replace("http://", "json://") + "/apprise"), MESSAGE)
    assert result.ok
    [request] = http_receiver.requests
    assert json.loads(request["body"])["title"] == MESSAGE.subject


@pytest.mark.parametrize(("kind", "to"), [("sms", "+41791234567"), ("whatsapp", "whatsapp:+41791234567")])
def test_sms_and_whatsapp_go_through_twilio_http_api(http_receiver, settings, monkeypatch, kind, to):
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "t" * 32
    settings.TWILIO_FROM_NUMBER = "+41445550000"
    monkeypatch.setattr(NotifyTwilio, "notify_sms_url", http_receiver.url + "/2010-04-01/Accounts/{sid}/Messages.json")
    result = deliver(method(kind, "+41791234567"), MESSAGE)
    assert result.ok, result.error
    [request] = http_receiver.requests
    assert request["path"] == f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"
    assert to.replace("+", "%2B").replace(":", "%3A") in request["body"].decode()
    assert request["headers"]["Authorization"].startswith("Basic ")


def test_voice_call_goes_through_twilio_calls_api(http_receiver, settings, monkeypatch):
    settings.TWILIO_ACCOUNT_SID = "AC" + "2" * 32
    settings.TWILIO_AUTH_TOKEN = "t" * 32
    settings.TWILIO_FROM_NUMBER = "+41445550000"
    monkeypatch.setattr(NotifyTwilio, "notify_call_url", http_receiver.url + "/2010-04-01/Accounts/{sid}/Calls.json")
    result = deliver(method("voice", "+41791234567"), MESSAGE)
    assert result.ok, result.error
    assert http_receiver.requests[0]["path"].endswith("/Calls.json")


def test_missing_provider_credentials_are_a_clear_failure(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    result = deliver(method("sms", "+41791234567"), MESSAGE)
    assert not result.ok
    assert "Twilio is not configured" in result.error


def test_slack_incoming_webhook_gets_the_message(http_receiver, monkeypatch):
    from apprise.plugins.slack import NotifySlack

    monkeypatch.setattr(NotifySlack, "webhook_url", http_receiver.url + "/services")
    http_receiver.body, http_receiver.content_type = b"ok", "text/plain"
    hook = "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    result = deliver(method("slack", hook), MESSAGE)
    assert result.ok, result.error
    [request] = http_receiver.requests
    assert request["path"] == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    body = json.loads(request["body"])
    assert "Website is down" in json.dumps(body)
