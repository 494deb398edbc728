"""Calling in responders with real parts: a live server, the real worker and a local webhook receiver. A
responder request made through the API reaches the person's webhook within seconds; declining by the link it
carries moves the policy's chain on, and the next person is paged by the worker's ticker."""

import json

import pytest
import requests
from rest_framework.authtoken.models import Token

from incidents.models import ResponderRequest, TimelineEntry
from people.models import ContactMethod, NotificationRule
from project.roles import RESPONDERS
from rotations.models import EscalationPolicy, EscalationStep
from tests.factories import IncidentFactory, ServiceFactory, UserFactory
from tests.incidents.test_paging_live import wait_for, workers  # noqa: F401  (the worker fixture)


@pytest.fixture
def team(transactional_db, http_receiver):
    people = {}
    for name in ("alice", "bob"):
        person = UserFactory(username=name, first_name=name.title(), last_name="Example")
        hook = ContactMethod.objects.create(user=person, kind="webhook", address=f"{http_receiver.url}/{name}")
        NotificationRule.objects.create(user=person, contact_method=hook, delay_minutes=0)
        people[name] = person
    chain = EscalationPolicy.objects.create(name="Database")
    EscalationStep.objects.create(policy=chain, position=0, escalate_after_minutes=30).users.add(people["alice"])
    EscalationStep.objects.create(policy=chain, position=1, escalate_after_minutes=30).users.add(people["bob"])
    rita = UserFactory(username="rita", first_name="Rita", last_name="Responder", roles=[RESPONDERS])
    incident = IncidentFactory(service=ServiceFactory(slug="website"), title="Checkout is failing")
    return {**people, "chain": chain, "incident": incident, "token": Token.objects.create(user=rita).key}


def events(http_receiver):
    return [(r["path"], json.loads(r["body"])) for r in http_receiver.requests]


def test_a_request_pages_within_seconds_and_a_decline_moves_the_chain_on(
    live_server,
    workers,  # noqa: F811
    team,
    http_receiver,
):
    workers.start()
    incident = team["incident"]
    response = requests.post(
        f"{live_server.url}/api/v1/incidents/{incident.pk}/responders/",
        json={"policies": [team["chain"].pk], "message": "The database is slow"},
        headers={"Authorization": f"Token {team['token']}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    wait_for(lambda: http_receiver.requests, timeout=15, message="Alice's responder request")
    [(path, event)] = events(http_receiver)
    assert path == "/alice" and event["event"] == "incident.responder_request"
    assert event["responder_request"]["message"] == "The database is slow"
    link = event["responder_request"]["respond_url"]
    assert link.startswith(live_server.url + "/respond/")
    assert requests.post(link, data={"decline": "1"}, timeout=10).status_code == 200
    # Everyone of step 1 declined: step 2 is due at once, and the worker's ticker fires it.
    wait_for(lambda: len(http_receiver.requests) == 2, timeout=15, message="Bob's responder request")
    assert events(http_receiver)[1][0] == "/bob"
    states = dict(ResponderRequest.objects.filter(incident=incident).values_list("user__username", "state"))
    assert states == {"alice": "declined", "bob": "paged"}
    texts = [e.text for e in TimelineEntry.objects.filter(incident=incident, kind="responders")]
    assert "Alice Example declined to join the response (by link)." in texts
