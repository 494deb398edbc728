"""Calling in responders: people, whoever is on call, an escalation policy; they join or decline by link, SMS
reply, key press or the API; the incident page shows who was asked and what they answered."""

import datetime as dt
import json
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from incidents import bridge, responders
from incidents.links import respond_url, respond_voice_url
from incidents.models import Notification, ResponderEscalation, ResponderRequest, TimelineEntry
from people.models import ContactMethod, NotificationRule, Team, TeamMembership
from rotations.models import EscalationPolicy, EscalationStep, Layer, Schedule
from tests.factories import IncidentFactory, UserFactory
from tests.incidents.test_acknowledge_anywhere import twilio_post

pytestmark = pytest.mark.django_db


def reach(user, kind, address):
    method = ContactMethod.objects.create(user=user, kind=kind, address=address)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)
    return method


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Martin", email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", first_name="Bob", last_name="Keller", email="bob@example.com")


def schedule_with(name, people, team=None):
    schedule = Schedule.objects.create(name=name, time_zone="Europe/Zurich", team=team)
    layer = Layer.objects.create(
        schedule=schedule, name="Weekly", rotation_start=timezone.now() - dt.timedelta(days=3), shift_unit="weeks"
    )
    layer.set_participants(people)
    return schedule


@pytest.fixture
def incident(service):
    return IncidentFactory(service=service, title="Checkout is failing")


def url(incident):
    return f"/api/v1/incidents/{incident.pk}/responders/"


def entries(incident):
    return [entry.text for entry in TimelineEntry.objects.filter(incident=incident, kind="responders")]


def test_responders_added_through_the_api_are_paged_at_their_webhook(
    api_for, responder, alice, bob, incident, http_receiver, run_tasks
):
    reach(alice, "webhook", http_receiver.url + "/alice")
    reach(bob, "webhook", http_receiver.url + "/bob")
    platform = schedule_with("Platform", [bob])
    with run_tasks():
        response = api_for(responder).post(
            url(incident),
            {"users": [alice.pk], "schedules": [platform.pk], "message": "Database expertise needed"},
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {r["user"]["username"] for r in body["requests"]} == {"alice", "bob"}
    assert {r["state"] for r in body["requests"]} == {"paged"}
    assert body["nobody"] == []
    events = {r["path"]: json.loads(r["body"]) for r in http_receiver.requests}
    assert set(events) == {"/alice", "/bob"}
    event = events["/alice"]
    assert event["event"] == "incident.responder_request"
    assert event["incident"]["number"] == incident.number
    assert event["responder_request"]["message"] == "Database expertise needed"
    assert event["responder_request"]["requested_by"]["name"] == "Rita Responder"
    assert "/respond/" in event["responder_request"]["respond_url"]
    texts = entries(incident)
    assert "Rita Responder asked Alice Martin to join the response: Database expertise needed" in texts
    assert "Rita Responder asked Bob Keller to join the response (on call for Platform): Database expertise needed" in (
        texts
    )
    delivered = TimelineEntry.objects.filter(incident=incident, kind="delivery").values_list("message", "params")
    assert any(params.get("purpose") == {"msgid": "Responder request"} for _m, params in delivered)
    listed = api_for(responder).get(url(incident)).json()
    assert [(r["user"]["username"], r["state"], r["requested_by"]["username"]) for r in listed] == [
        ("alice", "paged", "rita"),
        ("bob", "paged", "rita"),
    ]
    assert all(r["created_at"] for r in listed)


def test_the_page_email_says_who_asks_the_message_and_how_to_answer(
    api_for, responder, alice, incident, smtp_server, run_tasks, settings
):
    reach(alice, "email", "alice@example.com")
    api_for(responder).post(
        f"/api/v1/incidents/{incident.pk}/bridge/", {"url": "https://meet.example.com/checkout"}, format="json"
    )
    with run_tasks():
        api_for(responder).post(url(incident), {"users": [alice.pk], "message": "Need a DBA"}, format="json")
    [mail] = smtp_server.messages
    data = mail["data"]
    assert "Rita Responder asks you to join" in data
    assert "Need a DBA" in data
    assert f"JOIN {incident.number}" in data and f"DECLINE {incident.number}" in data
    assert settings.PIQUET_BASE_URL + "/respond/" in data
    assert "Conference bridge: https://meet.example.com/checkout" in data


def test_nobody_on_call_is_said_on_the_timeline_and_in_the_answer(api_for, responder, incident):
    empty = Schedule.objects.create(name="Nights", time_zone="Europe/Zurich")
    hollow = EscalationPolicy.objects.create(name="Hollow")
    EscalationStep.objects.create(policy=hollow, position=0, escalate_after_minutes=5).schedules.add(empty)
    response = api_for(responder).post(url(incident), {"schedules": [empty.pk], "policies": [hollow.pk]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["requests"] == []
    assert response.json()["nobody"] == [
        "Nobody is on call for Nights.",
        "Nobody of escalation policy Hollow can be asked.",
    ]
    texts = entries(incident)
    assert "Nobody is on call for Nights: nobody was asked from it." in texts
    assert "Escalation policy Hollow, step 1: nobody on call to ask; moving on." in texts
    assert ResponderEscalation.objects.get().state == "exhausted"


def test_a_schedule_that_cannot_be_computed_is_said_not_an_error(api_for, responder, incident, monkeypatch):
    broken = schedule_with("Broken", [UserFactory(username="zoe")])

    def fail(*args, **kwargs):
        raise ValueError("layers cannot be read")

    monkeypatch.setattr("incidents.escalation.users_on_call", fail)
    response = api_for(responder).post(url(incident), {"schedules": [broken.pk]}, format="json")
    assert response.status_code == 201
    assert response.json()["nobody"] == ["Nobody is on call for Broken."]
    assert any("layers cannot be read" in text for text in entries(incident))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "detail"),
        ({"message": "help"}, "detail"),
        ({"users": [999999]}, "users"),
        ({"users": ["abc"]}, "users"),
        ({"users": "1"}, "users"),
        ({"users": [2**70]}, "users"),
        ({"schedules": [999999]}, "schedules"),
        ({"policies": [999999]}, "policies"),
        ({"users": [1], "message": "x" * 1001}, "message"),
        ({"users": list(range(1, 60))}, "users"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_for, responder, incident, body, field):
    response = api_for(responder).post(url(incident), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ResponderRequest.objects.exists()


def test_schedules_and_policies_of_other_teams_are_unknown_ids(api_for, responder, alice, incident):
    other = Team.objects.create(name="Payments", slug="payments")
    hidden = schedule_with("Payments on call", [alice], team=other)
    hidden_policy = EscalationPolicy.objects.create(name="Payments chain", team=other)
    response = api_for(responder).post(
        url(incident), {"schedules": [hidden.pk], "policies": [hidden_policy.pk]}, format="json"
    )
    assert response.status_code == 400
    assert str(hidden.pk) in response.json()["schedules"][0]
    assert str(hidden_policy.pk) in response.json()["policies"][0]
    TeamMembership.objects.create(team=other, user=responder)
    response = api_for(responder).post(url(incident), {"schedules": [hidden.pk]}, format="json")
    assert response.status_code == 201


def test_role_matrix(api_for, responder, manager, stakeholder, outsider, alice, incident):
    body = {"users": [alice.pk]}
    assert api_for(stakeholder).post(url(incident), body, format="json").status_code == 403
    assert api_for(stakeholder).get(url(incident)).status_code == 403
    assert api_for(outsider).post(url(incident), body, format="json").status_code == 403
    assert api_for(None).post(url(incident), body, format="json").status_code in (401, 403)
    assert not ResponderRequest.objects.exists()
    assert api_for(manager).post(url(incident), body, format="json").status_code == 201
    assert api_for(responder).get(url(incident)).status_code == 200


def test_only_the_asked_person_joins_or_declines_and_only_once(api_for, responder, alice, bob, incident):
    asked = responders.add(incident, by=responder, users=[alice]).requests[0]
    join = f"{url(incident)}{asked.pk}/join/"
    assert api_for(bob).post(join).status_code in (403, 404)
    assert api_for(responder).post(join).status_code == 403
    response = api_for(alice).post(join)
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "joined" and response.json()["answered_at"]
    assert api_for(alice).post(f"{url(incident)}{asked.pk}/decline/").status_code == 409
    assert "Alice Martin joined the response (in Piquet)." in entries(incident)


@pytest.mark.parametrize("pk", ["abc", str(2**70), "0"])
def test_answering_a_request_that_is_not_an_id_is_a_404(api_for, alice, incident, pk):
    assert api_for(alice).post(f"{url(incident)}{pk}/join/").status_code == 404


def test_a_declined_person_may_be_asked_again_and_an_open_request_is_not_doubled(responder, alice, incident):
    first = responders.add(incident, by=responder, users=[alice]).requests[0]
    assert responders.add(incident, by=responder, users=[alice]).requests == []
    responders.decline(first, by=alice)
    again = responders.add(incident, by=responder, users=[alice]).requests
    assert len(again) == 1 and again[0].pk != first.pk
    assert list(ResponderRequest.objects.filter(incident=incident).values_list("state", flat=True)) == [
        "declined",
        "paged",
    ]


def test_join_by_signed_sms_reply_is_recorded(client, responder, alice, incident, settings):
    reach(alice, "sms", "+41791234567")
    asked = responders.add(incident, by=responder, users=[alice]).requests[0]
    response = twilio_post(
        client, "/api/v1/twilio/messages/", {"From": "+41791234567", "Body": f"join {incident.number}"}, settings
    )
    assert response.status_code == 200
    assert f"You joined the response to #{incident.number}." in response.content.decode()
    asked.refresh_from_db()
    assert asked.state == "joined" and asked.answered_at is not None
    assert "Alice Martin joined the response (by SMS reply)." in entries(incident)
    entry = TimelineEntry.objects.filter(incident=incident, kind="responders").last()
    assert entry.actor == alice
    again = twilio_post(
        client, "/api/v1/twilio/messages/", {"From": "+41791234567", "Body": f"DECLINE {incident.number}"}, settings
    )
    assert "answered already" in again.content.decode()


def test_sms_reply_with_a_bad_signature_changes_nothing(client, responder, alice, incident, settings):
    reach(alice, "sms", "+41791234567")
    asked = responders.add(incident, by=responder, users=[alice]).requests[0]
    response = twilio_post(
        client,
        "/api/v1/twilio/messages/",
        {"From": "+41791234567", "Body": f"JOIN {incident.number}"},
        settings,
        token="not-the-token",
    )
    assert response.status_code == 403
    asked.refresh_from_db()
    assert asked.state == "paged"


def test_decline_and_join_by_link_without_a_session(responder, alice, bob, incident):
    asked_alice, asked_bob = responders.add(incident, by=responder, users=[alice, bob], message="Need eyes").requests
    browser = Client(enforce_csrf_checks=True)
    link = urlsplit(respond_url(asked_alice)).path
    page = browser.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Checkout is failing" in html and "Need eyes" in html
    assert 'name="join"' in html and 'name="decline"' in html
    response = browser.post(link, {"decline": "1"})
    assert response.status_code == 200
    asked_alice.refresh_from_db()
    assert asked_alice.state == "declined"
    assert "Alice Martin declined to join the response (by link)." in entries(incident)
    assert 'name="join"' not in response.content.decode()
    browser.post(urlsplit(respond_url(asked_bob)).path, {"join": "1"})
    asked_bob.refresh_from_db()
    assert asked_bob.state == "joined"
    assert "Bob Keller joined the response (by link)." in entries(incident)


def test_a_tampered_or_expired_link_is_refused(responder, alice, incident):
    asked = responders.add(incident, by=responder, users=[alice]).requests[0]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        link = urlsplit(respond_url(asked)).path
        assert Client().post(link[:-3] + "xyz/", {"join": "1"}).status_code == 403
        clock.shift(dt.timedelta(hours=24, minutes=1))
        response = Client().post(link, {"join": "1"})
        assert response.status_code == 403 and "expired" in response.content.decode()
    asked.refresh_from_db()
    assert asked.state == "paged"


def test_a_key_press_in_the_call_joins(client, responder, alice, incident, settings):
    asked = responders.add(incident, by=responder, users=[alice]).requests[0]
    path = urlsplit(respond_voice_url(asked)).path
    prompt = twilio_post(client, path, {}, settings)
    assert "Press 1 to join" in prompt.content.decode()
    response = twilio_post(client, path, {"Digits": "1"}, settings)
    assert "You joined" in response.content.decode()
    asked.refresh_from_db()
    assert asked.state == "joined"
    assert "Alice Martin joined the response (by phone)." in entries(incident)


def test_a_policy_runs_its_chain_for_the_request_until_someone_joins(responder, alice, bob, incident, run_tasks):
    chain = EscalationPolicy.objects.create(name="Database")
    EscalationStep.objects.create(policy=chain, position=0, escalate_after_minutes=5).users.add(alice)
    EscalationStep.objects.create(policy=chain, position=1, escalate_after_minutes=5).users.add(bob)
    EscalationStep.objects.create(policy=chain, position=2, escalate_after_minutes=5).users.add(responder)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        added = responders.add(incident, by=responder, policies=[chain])
        assert [r.user for r in added.requests] == [alice]
        assert responders.tick() == 0  # not due yet
        clock.shift(dt.timedelta(minutes=5, seconds=1))
        with run_tasks():
            assert responders.tick() == 1
        asked = ResponderRequest.objects.filter(incident=incident).order_by("pk")
        assert [r.user for r in asked] == [alice, bob]
        assert responders.tick() == 0  # handed out once
        responders.join(asked[1], by=bob)
        run = ResponderEscalation.objects.get()
        assert run.state == "joined" and run.next_at is None
        clock.shift(dt.timedelta(minutes=10))
        with run_tasks():
            responders.tick()
        assert ResponderRequest.objects.filter(incident=incident).count() == 2
    texts = entries(incident)
    assert "Rita Responder asked escalation policy Database for a responder." in texts
    assert "Rita Responder asked Bob Keller to join the response (escalation policy Database)." in texts


def test_a_step_whose_people_all_declined_moves_on_at_once(responder, alice, bob, incident):
    chain = EscalationPolicy.objects.create(name="Database")
    EscalationStep.objects.create(policy=chain, position=0, escalate_after_minutes=30).users.add(alice)
    EscalationStep.objects.create(policy=chain, position=1, escalate_after_minutes=30).users.add(bob)
    first = responders.add(incident, by=responder, policies=[chain]).requests[0]
    responders.decline(first, by=alice)
    run = ResponderEscalation.objects.get()
    assert run.next_at <= timezone.now()
    responders.advance(run.pk)
    assert ResponderRequest.objects.filter(user=bob, state="paged").exists()


def test_answered_requests_are_not_sent_and_resolved_incidents_take_none(api_for, responder, alice, incident):
    method = ContactMethod.objects.create(user=alice, kind="email", address="alice@example.com")
    NotificationRule.objects.create(user=alice, contact_method=method, delay_minutes=5)
    asked = responders.add(incident, by=responder, users=[alice]).requests[0]
    later = Notification.objects.get(responder_request=asked)
    assert later.status == "pending"
    responders.join(asked, by=alice)
    later.refresh_from_db()
    assert later.status == "cancelled"
    from incidents import lifecycle

    other = responders.add(incident, by=responder, users=[UserFactory(username="carl")]).requests[0]
    lifecycle.resolve(incident, by=responder)
    response = api_for(responder).post(url(incident), {"users": [alice.pk]}, format="json")
    assert response.status_code == 409
    answer = api_for(other.user).post(f"{url(incident)}{other.pk}/join/")
    assert answer.status_code == 409 and "resolved" in answer.json()["detail"]


def test_the_incident_page_shows_who_was_asked_with_constant_queries(
    client, responder, manager, alice, bob, incident, django_assert_max_num_queries
):
    responders.add(incident, by=responder, users=[alice], message="Look at the DB")
    client.force_login(manager)
    page = f"/admin/incidents/incident/{incident.pk}/change/"
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        response = client.get(page)
    html = response.content.decode()
    assert 'id="responders"' in html and "Alice Martin" in html and "Look at the DB" in html
    others = [UserFactory(username=f"helper{n}") for n in range(6)]
    asked = responders.add(incident, by=responder, users=[bob, *others]).requests
    responders.join(asked[0], by=bob)
    responders.decline(asked[1], by=asked[1].user)
    with django_assert_max_num_queries(len(one)):
        response = client.get(page)
    html = response.content.decode()
    assert "responder-joined" in html and "responder-declined" in html and "responder-paged" in html
    assert 'id="responders-form"' in html
    chain = EscalationPolicy.objects.create(name="Database")
    EscalationStep.objects.create(policy=chain, position=0, escalate_after_minutes=5).users.add(responder)
    responders.add(incident, by=manager, policies=[chain])
    html = client.get(page).content.decode()
    assert "responder-escalation-running" in html and "Escalation policy Database: Running" in html


def test_asking_from_the_incident_page(client, responder, alice, incident):
    client.force_login(responder)
    response = client.post(
        f"/admin/incidents/incident/{incident.pk}/responders/",
        {"responders-users": [alice.pk], "responders-message": "Please join"},
    )
    assert response.status_code == 302
    asked = ResponderRequest.objects.get()
    assert (asked.user, asked.requested_by, asked.message) == (alice, responder, "Please join")
    response = client.post(f"/admin/incidents/incident/{incident.pk}/responders/", {}, follow=True)
    assert "Choose at least one person" in response.content.decode()


def test_stakeholders_cannot_ask_from_the_incident_page(client, stakeholder, alice, incident):
    client.force_login(stakeholder)
    response = client.post(f"/admin/incidents/incident/{incident.pk}/responders/", {"responders-users": [alice.pk]})
    assert response.status_code == 403
    assert not ResponderRequest.objects.exists()


def test_who_joins_hears_where_the_responders_meet(client, responder, alice, bob, incident, settings):
    bridge.set_bridge(incident, url="https://meet.example.com/db-42", phone="+41 44 668 18 00", by=responder)
    incident.refresh_from_db()
    reach(alice, "sms", "+41791234567")
    responders.add(incident, by=responder, users=[alice])
    body = {"From": "+41791234567", "Body": f"JOIN {incident.number}"}
    reply = twilio_post(client, "/api/v1/twilio/messages/", body, settings).content.decode()
    assert "Conference bridge: https://meet.example.com/db-42 · +41 44 668 18 00" in reply
    # Asked again and joining on the phone: only the dial-in is read out.
    asked = responders.add(incident, by=responder, users=[bob]).requests[0]
    spoken = twilio_post(client, urlsplit(respond_voice_url(asked)).path, {"Digits": "1"}, settings).content.decode()
    assert "You joined" in spoken and "Dial in: +41 44 668 18 00" in spoken and "https://" not in spoken


def test_a_refused_answer_says_nothing_of_the_bridge(client, responder, alice, incident, settings):
    bridge.set_bridge(incident, url="https://meet.example.com/db-42", phone="", by=responder)
    reach(alice, "sms", "+41791234567")
    body = {"From": "+41791234567", "Body": f"JOIN {incident.number}"}
    reply = twilio_post(client, "/api/v1/twilio/messages/", body, settings).content.decode()
    assert "Nobody asked you" in reply and "meet.example.com" not in reply
