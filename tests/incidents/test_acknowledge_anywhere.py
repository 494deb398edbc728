"""Acknowledge from a one-click link, an SMS reply or a key press in a call."""

import datetime as dt
from urllib.parse import urlencode, urlsplit

import pytest
import time_machine
from django.test import Client
from twilio.request_validator import RequestValidator

from delivery.transports import Message, deliver
from incidents import bridge
from incidents.links import ack_url, voice_url
from incidents.models import Incident
from people.models import ContactMethod
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db
TOKEN = "twilio-auth-token-for-tests"


def path_of(url):
    return urlsplit(url).path


def test_ack_link_shows_the_incident_then_acknowledges_without_a_session(responder, service):
    incident = IncidentFactory(service=service, title="Checkout is failing")
    link = path_of(ack_url(incident, responder))
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(link)
    assert page.status_code == 200
    assert "Checkout is failing" in page.content.decode()
    assert 'name="acknowledge"' in page.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "triggered"
    response = browser.post(link)
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert incident.acknowledged_by == responder
    assert "Acknowledged" in response.content.decode()


def test_ack_link_expires_after_24_hours_and_refuses_tampering(responder, service):
    incident = IncidentFactory(service=service)
    with time_machine.travel(dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC), tick=False) as clock:
        link = path_of(ack_url(incident, responder))
        clock.move_to(dt.datetime(2026, 11, 28, 12, 1, tzinfo=dt.UTC))
        response = Client().post(link)
        assert response.status_code == 403
        assert "expired" in response.content.decode()
    assert Client().post(link[:-3] + "xyz/").status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"


def twilio_post(client, path, params, settings, token=TOKEN):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    signature = RequestValidator(token).compute_signature(settings.PIQUET_BASE_URL + path, params)
    return client.post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
    )


def test_sms_reply_ack_and_res(client, responder, service, settings):
    ContactMethod.objects.create(user=responder, kind="sms", address="+41791234567")
    incident = IncidentFactory(service=service)
    response = twilio_post(
        client, "/api/v1/twilio/messages/", {"From": "+41791234567", "Body": f"ack {incident.number}"}, settings
    )
    assert response.status_code == 200
    assert f"#{incident.number} acknowledged." in response.content.decode()
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", responder)
    response = twilio_post(
        client,
        "/api/v1/twilio/messages/",
        {"From": "whatsapp:+41791234567", "Body": f"RES #{incident.number}"},
        settings,
    )
    assert f"#{incident.number} resolved." in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "resolved"


def test_sms_reply_with_a_bad_signature_is_refused(client, responder, service, settings):
    ContactMethod.objects.create(user=responder, kind="sms", address="+41791234567")
    incident = IncidentFactory(service=service)
    response = twilio_post(
        client,
        "/api/v1/twilio/messages/",
        {"From": "+41791234567", "Body": f"ACK {incident.number}"},
        settings,
        token="someone-elses-token",
    )
    assert response.status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == "triggered"


def test_sms_from_unknown_numbers_or_people_without_the_role_changes_nothing(client, stakeholder, service, settings):
    ContactMethod.objects.create(user=stakeholder, kind="sms", address="+41790000000")
    incident = IncidentFactory(service=service)
    body = {"From": "+41799999999", "Body": f"ACK {incident.number}"}
    assert "not known" in twilio_post(client, "/api/v1/twilio/messages/", body, settings).content.decode()
    body["From"] = "+41790000000"
    assert "may not" in twilio_post(client, "/api/v1/twilio/messages/", body, settings).content.decode()
    body["Body"] = "hello"
    assert "Reply ACK" in twilio_post(client, "/api/v1/twilio/messages/", body, settings).content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "triggered"


def test_voice_call_says_the_incident_and_key_1_acknowledges(client, responder, service, settings):
    incident = IncidentFactory(service=service, title="Database down")
    path = path_of(voice_url(incident, responder))
    response = twilio_post(client, path, {"CallSid": "CA1"}, settings)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<Gather" in body and "Database down" in body and "Press 1" in body
    response = twilio_post(client, path, {"CallSid": "CA1", "Digits": "1"}, settings)
    assert "acknowledged" in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "acknowledged"


def test_who_acknowledges_on_the_phone_hears_the_bridge_dial_in(client, responder, service, settings):
    incident = IncidentFactory(service=service, title="Database down")
    bridge.set_bridge(incident, url="https://meet.example.com/db", phone="+41 44 668 18 00", by=responder)
    path = path_of(voice_url(incident, responder))
    spoken = twilio_post(client, path, {"CallSid": "CA1", "Digits": "1"}, settings).content.decode()
    assert "acknowledged. Dial in: +41 44 668 18 00" in spoken and "https://" not in spoken
    ContactMethod.objects.create(user=responder, kind="sms", address="+41791234567")
    body = {"From": "+41791234567", "Body": f"ACK {incident.number}"}
    written = twilio_post(client, "/api/v1/twilio/messages/", body, settings).content.decode()
    assert "Conference bridge: https://meet.example.com/db · +41 44 668 18 00" in written  # a message: both
    body["Body"] = f"RES {incident.number}"
    written = twilio_post(client, "/api/v1/twilio/messages/", body, settings).content.decode()
    assert "resolved." in written and "meet.example.com" not in written  # nothing left to meet about


def test_voice_page_places_a_call_through_twilios_api(http_receiver, settings, responder, service):
    settings.TWILIO_ACCOUNT_SID = "AC" + "3" * 32
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM_NUMBER = "+41445550000"
    settings.TWILIO_API_BASE_URL = http_receiver.url
    incident = IncidentFactory(service=service)
    method = ContactMethod.objects.create(user=responder, kind="voice", address="+41791234567")
    result = deliver(method, Message(subject="s", text="t", voice_url=voice_url(incident, responder)))
    assert result.ok, result.error
    [request] = http_receiver.requests
    assert request["path"] == f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Calls.json"
    body = request["body"].decode()
    assert "To=%2B41791234567" in body and "Url=http" in body
