"""The conference bridge: set by a person (incident page, API) or by a play (`set_bridge`), on the timeline, and
shown wherever a responder looks: every page message, the acknowledgement page, the incident page."""

import json
from urllib.parse import urlsplit

import pytest
from django.test import Client

from incidents.bridge import set_bridge
from incidents.links import ack_url
from incidents.models import Incident, TimelineEntry
from people.models import ContactMethod, NotificationRule
from rotations.models import EscalationPolicy, EscalationStep
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db
MEET = "https://meet.example.com/checkout-incident"
PHONE = "+41 44 000 00 00 PIN 1234"


@pytest.fixture
def incident(service):
    return IncidentFactory(service=service, title="Checkout is failing")


def bridge_url(incident):
    return f"/api/v1/incidents/{incident.pk}/bridge/"


def test_the_api_sets_the_bridge_and_the_timeline_says_so(api_for, responder, incident):
    response = api_for(responder).post(bridge_url(incident), {"url": MEET, "phone": PHONE}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["bridge_url"], response.json()["bridge_phone"]) == (MEET, PHONE)
    entry = TimelineEntry.objects.get(incident=incident, kind="bridge")
    assert entry.text == f"Conference bridge: {MEET} · {PHONE}" and entry.actor == responder
    # A field left out keeps its value; the same bridge again writes nothing.
    response = api_for(responder).post(bridge_url(incident), {"phone": PHONE}, format="json")
    assert response.json()["bridge_url"] == MEET
    assert TimelineEntry.objects.filter(incident=incident, kind="bridge").count() == 1
    response = api_for(responder).post(bridge_url(incident), {"url": "", "phone": ""}, format="json")
    assert (response.json()["bridge_url"], response.json()["bridge_phone"]) == ("", "")
    assert "The conference bridge was removed." in [
        e.text for e in TimelineEntry.objects.filter(incident=incident, kind="bridge")
    ]
    assert api_for(responder).get(f"/api/v1/incidents/{incident.pk}/").json()["bridge_url"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "ftp://files.example.com/x"}, "url"),
        ({"url": "meet.example.com"}, "url"),
        ({"url": "https://" + "a" * 600 + ".com"}, "url"),
        ({"url": 12}, "url"),
        ({"phone": "9" * 201}, "phone"),
        ({"phone": ["+41"]}, "phone"),
    ],
)
def test_a_bad_bridge_is_a_400(api_for, responder, incident, body, field):
    response = api_for(responder).post(bridge_url(incident), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Incident.objects.get(pk=incident.pk).bridge_url == ""


def test_stakeholders_cannot_set_the_bridge(api_for, stakeholder, incident):
    assert api_for(stakeholder).post(bridge_url(incident), {"url": MEET}, format="json").status_code == 403


def test_set_bridge_refuses_what_is_not_a_link(incident, responder):
    with pytest.raises(ValueError):
        set_bridge(incident, url="javascript:alert(1)", phone="", by=responder)
    set_bridge(incident, url=MEET, phone="dial\n+41 44", by=None)
    incident.refresh_from_db()
    assert incident.bridge_phone == "dial +41 44"  # one line


def test_the_incident_page_edits_and_shows_the_bridge(client, responder, incident):
    client.force_login(responder)
    response = client.post(
        f"/admin/incidents/incident/{incident.pk}/bridge/", {"bridge-url": MEET, "bridge-phone": PHONE}
    )
    assert response.status_code == 302
    html = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    header = html.split('id="summary-bridge"', 1)[1].split("</div>", 1)[0]
    assert MEET in header and PHONE in header
    response = client.post(
        f"/admin/incidents/incident/{incident.pk}/bridge/",
        {"bridge-url": "javascript:x", "bridge-phone": ""},
        follow=True,
    )
    assert "http or https" in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).bridge_url == MEET


def test_the_ack_page_shows_the_bridge(responder, incident):
    set_bridge(incident, url=MEET, phone=PHONE, by=responder)
    html = Client().get(urlsplit(ack_url(incident, responder)).path).content.decode()
    assert f'href="{MEET}"' in html and PHONE in html


@pytest.fixture
def alice(service):
    alice = UserFactory(username="alice", email="alice@example.com")
    chain = EscalationPolicy.objects.create(name="Website")
    EscalationStep.objects.create(policy=chain, position=0, escalate_after_minutes=5).users.add(alice)
    service.escalation_policy = chain
    service.save()
    return alice


def reach(user, kind, address):
    method = ContactMethod.objects.create(user=user, kind=kind, address=address)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)


def test_pages_carry_the_bridge_in_the_email_and_the_webhook(
    alice, incident, http_receiver, smtp_server, run_tasks, responder
):
    from incidents import lifecycle

    set_bridge(incident, url=MEET, phone=PHONE, by=responder)
    reach(alice, "email", "alice@example.com")
    reach(alice, "webhook", http_receiver.url + "/alice")
    with run_tasks():
        lifecycle.escalate(incident, by=responder)
    [mail] = smtp_server.messages
    assert f"Conference bridge: {MEET}" in mail["data"] and f"Dial in: {PHONE}" in mail["data"]
    event = json.loads(http_receiver.requests[0]["body"])
    assert event["bridge"] == {"url": MEET, "phone": PHONE}


def test_the_sms_page_carries_the_bridge_and_stays_short(alice, incident, responder):
    from incidents.messages import SMS_LENGTH, build_message
    from incidents.models import Notification

    set_bridge(incident, url=MEET, phone="", by=responder)
    method = ContactMethod.objects.create(user=alice, kind="sms", address="+41791234567")
    Incident.objects.filter(pk=incident.pk).update(title="x" * 1000)
    incident.refresh_from_db()
    notification = Notification(incident=incident, user=alice, contact_method=method, purpose="page")
    message = build_message(notification)
    assert f"Bridge: {MEET}" in message.short and "/ack/" in message.short
    assert len(message.short) <= SMS_LENGTH
