"""Status updates reach every matching stakeholder once, in their language, by e-mail and webhook."""

import datetime as dt
import email
import json
import re
from email import policy

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from comms import cadence, stakeholders
from comms.models import Delivery, StakeholderGroup, StatusUpdate, Subscriber
from delivery.transports import sign
from incidents.models import Incident, TimelineEntry
from tests.comms.conftest import add_subscriber
from tests.factories import IncidentFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def post_update(client, incident, run_tasks, **body):
    body = {"phase": "identified", "message": "We found the faulty deployment.", **body}
    with run_tasks():
        response = client.post(f"/api/v1/incidents/{incident.pk}/status-updates/", body, format="json")
    return response


def parse(message):
    return email.message_from_bytes(message["data"].encode(), policy=policy.default)


def test_update_reaches_a_local_smtp_server_and_webhook_receiver_exactly_once(
    api_for, responder, customers, claire, sev1, smtp_server, http_receiver, run_tasks, client
):
    hook = add_subscriber(customers, Subscriber.Kind.WEBHOOK, http_receiver.url + "/hook")
    add_subscriber(customers, Subscriber.Kind.EMAIL, "cto@customer.example")

    response = post_update(
        api_for(responder), sev1, run_tasks, eta=(timezone.now() + dt.timedelta(hours=2)).isoformat()
    )
    assert response.status_code == 201, response.content
    update = StatusUpdate.objects.get(pk=response.json()["id"])

    # Running the fan-out and the ticker again sends nothing twice.
    with run_tasks():
        stakeholders.fan_out(update.pk)
        cadence.tick()

    assert len(http_receiver.requests) == 1
    request = http_receiver.requests[0]
    body = json.loads(request["body"])
    assert body["event"] == "incident.status_update"
    assert body["incident"]["number"] == sev1.number
    assert body["incident"]["title"] == "Checkout answers 502"
    assert set(body["update"]) == {"phase", "message", "next_update_at", "eta", "posted_at"}
    assert body["update"]["phase"] == "identified"
    assert body["update"]["message"] == "We found the faulty deployment."
    assert body["update"]["eta"] == update.eta.isoformat()
    assert request["headers"]["X-Piquet-Signature"] == sign(hook.secret, request["body"])

    recipients = sorted(r for m in smtp_server.messages for r in m["to"])
    assert recipients == ["claire@example.com", "cto@customer.example"]
    by_rcpt = {m["to"][0]: parse(m) for m in smtp_server.messages}
    english, french = by_rcpt["cto@customer.example"], by_rcpt["claire@example.com"]
    assert "Identified" in english["Subject"]
    assert "Cause identifiée" in french["Subject"]
    assert "Expected resolution by" in english.get_content()
    assert "Résolution prévue d'ici" in french.get_content()
    assert Delivery.objects.filter(update=update, status=Delivery.Status.SENT).count() == 3

    # The unsubscribe link in the body and the List-Unsubscribe header work.
    header = english["List-Unsubscribe"]
    link = re.search(r"<(http[^>]+)>", header).group(1)
    assert link in english.get_content()
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200
    assert Subscriber.objects.filter(address="cto@customer.example").exists()
    assert client.post("/" + path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not Subscriber.objects.filter(address="cto@customer.example").exists()

    # A member's link takes them out of the group.
    member_link = re.search(r"<(http[^>]+)>", french["List-Unsubscribe"]).group(1)
    client.post("/" + member_link.split("://", 1)[1].split("/", 1)[1])
    assert not customers.members.filter(pk=claire.pk).exists()

    assert TimelineEntry.objects.filter(incident=sev1, kind="stakeholders").count() == 1


def test_a_person_in_two_groups_with_one_address_gets_one_message(api_for, responder, service, sev1, run_tasks):
    alice = UserFactory(username="alice", email="alice@example.com")
    for name in ("Support", "Sales"):
        group = StakeholderGroup.objects.create(name=name, min_severity="SEV3")
        group.members.add(alice)
        add_subscriber(group, Subscriber.Kind.EMAIL, "shared@example.com")

    assert post_update(api_for(responder), sev1, run_tasks).status_code == 201

    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "shared@example.com"]


def test_groups_match_by_service_and_minimum_severity(api_for, responder, service, run_tasks):
    other = ServiceFactory(name="Billing", slug="billing")
    everything = StakeholderGroup.objects.create(name="Management", min_severity="SEV3")
    add_subscriber(everything, Subscriber.Kind.EMAIL, "boss@example.com")
    billing_only = StakeholderGroup.objects.create(name="Finance", min_severity="SEV3")
    billing_only.services.add(other)
    add_subscriber(billing_only, Subscriber.Kind.EMAIL, "finance@example.com")
    majors = StakeholderGroup.objects.create(name="Board", min_severity="SEV1")
    add_subscriber(majors, Subscriber.Kind.EMAIL, "board@example.com")

    minor = IncidentFactory(service=service, severity="SEV3")
    assert post_update(api_for(responder), minor, run_tasks).status_code == 201
    assert [m.to[0] for m in mail.outbox] == ["boss@example.com"]

    mail.outbox.clear()
    critical = IncidentFactory(service=other, severity="SEV1")
    assert post_update(api_for(responder), critical, run_tasks).status_code == 201
    assert sorted(m.to[0] for m in mail.outbox) == ["board@example.com", "boss@example.com", "finance@example.com"]


def test_internal_update_does_not_reach_status_page_visitors(api_for, responder, customers, sev1, run_tasks):
    Subscriber.objects.create(group=None, kind="email", address="visitor@example.com", confirmed_at=timezone.now())
    Subscriber.objects.create(group=None, kind="email", address="unconfirmed@example.com")
    add_subscriber(customers, Subscriber.Kind.EMAIL, "partner@example.com")

    assert post_update(api_for(responder), sev1, run_tasks, public=False).status_code == 201
    assert [m.to[0] for m in mail.outbox] == ["partner@example.com"]

    mail.outbox.clear()
    assert post_update(api_for(responder), sev1, run_tasks, phase="monitoring").status_code == 201
    assert sorted(m.to[0] for m in mail.outbox) == ["partner@example.com", "visitor@example.com"]


def test_a_failing_webhook_is_retried_then_given_up(api_for, responder, customers, sev1, run_tasks):
    from tests.conftest import Receiver

    failing = Receiver(status=500)
    try:
        add_subscriber(customers, Subscriber.Kind.WEBHOOK, failing.url + "/hook")
        assert post_update(api_for(responder), sev1, run_tasks).status_code == 201
        delivery = Delivery.objects.get(kind="webhook")
        assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
        for minutes in (1, 2):
            with time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes)), run_tasks():
                cadence.tick()
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.FAILED
        assert delivery.attempts == 3
        assert len(failing.requests) == 3
    finally:
        failing.close()


# --- the first notice ---------------------------------------------------------------------


def declare(client, service, run_tasks, severity):
    with run_tasks():
        response = client.post(
            "/api/v1/incidents/",
            {"service": service.slug, "title": "Payments fail", "severity": severity},
            format="json",
        )
    assert response.status_code == 201, response.content
    return Incident.objects.get(pk=response.json()["id"])


def test_declaring_a_sev1_tells_stakeholders_within_the_minute(api_for, responder, customers, claire, run_tasks):
    add_subscriber(customers, Subscriber.Kind.EMAIL, "partner@example.com")
    started = timezone.now()

    incident = declare(api_for(responder), customers.services.get(), run_tasks, "SEV1")

    notice = StatusUpdate.objects.get(incident=incident)
    assert notice.kind == StatusUpdate.Kind.NOTICE
    assert notice.next_update_at == notice.posted_at + dt.timedelta(minutes=30)
    assert timezone.now() - started < dt.timedelta(minutes=1)
    english = next(m for m in mail.outbox if m.to == ["partner@example.com"])
    assert "Website" in english.body and "Payments fail" in english.body
    assert "incident process is running" in english.body
    assert "being assigned" in english.body
    assert "Next update by" in english.body
    french = next(m for m in mail.outbox if m.to == ["claire@example.com"])
    assert "processus d'incident est en cours" in french.body


def test_first_notice_names_the_commander_and_follows_the_edited_template(
    api_for, responder, teammate, customers, run_tasks
):
    from comms import status_updates
    from comms.models import MessageTemplate
    from incidents import roles

    MessageTemplate.objects.filter(purpose="first_notice", language="en").update(
        body="$service is in trouble ($title); $commander leads. Next: $next_update."
    )
    add_subscriber(customers, Subscriber.Kind.EMAIL, "partner@example.com")
    incident = IncidentFactory(service=customers.services.get(), severity="SEV2", title="Search is slow")
    roles.assign(incident, role="commander", user=teammate, by=responder)

    with run_tasks():
        status_updates.first_notice(incident.pk)
        status_updates.first_notice(incident.pk)

    [message] = [m for m in mail.outbox if m.to == ["partner@example.com"]]
    assert message.body.startswith("Identified") is False
    assert "Website is in trouble (Search is slow); Théo Teammate leads. Next:" in message.body


def test_severity_that_does_not_inform_stakeholders_sends_no_notice(api_for, responder, customers, run_tasks):
    customers.min_severity = "SEV4"
    customers.save()
    add_subscriber(customers, Subscriber.Kind.EMAIL, "partner@example.com")

    incident = declare(api_for(responder), customers.services.get(), run_tasks, "SEV4")

    assert not StatusUpdate.objects.filter(incident=incident).exists()
    assert not [m for m in mail.outbox if m.to == ["partner@example.com"]]


# --- the API ----------------------------------------------------------------------------------


def test_posting_an_update_needs_a_responder(api_for, stakeholder, outsider, sev1):
    body = {"phase": "identified", "message": "x"}
    assert api_for(stakeholder).post(f"/api/v1/incidents/{sev1.pk}/status-updates/", body).status_code == 403
    assert api_for(None).post(f"/api/v1/incidents/{sev1.pk}/status-updates/", body).status_code in (401, 403)
    assert api_for(stakeholder).get(f"/api/v1/incidents/{sev1.pk}/status-updates/").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phase": "fixed", "message": "x"}, "phase"),
        ({"phase": "identified", "message": "   "}, "message"),
        ({"phase": "identified"}, "message"),
        ({"phase": "identified", "message": "x", "next_update_at": "2001-01-01T00:00:00Z"}, "next_update_at"),
        ({"phase": "identified", "message": "x", "eta": "tomorrow"}, "eta"),
    ],
)
def test_bad_status_update_is_a_400_naming_the_field(api_for, responder, sev1, body, field):
    response = api_for(responder).post(f"/api/v1/incidents/{sev1.pk}/status-updates/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_status_updates_are_listed_newest_first(api_for, responder, sev1, run_tasks):
    client = api_for(responder)
    post_update(client, sev1, run_tasks, phase="investigating", message="Looking")
    post_update(client, sev1, run_tasks, phase="identified", message="Found it")

    listed = client.get(f"/api/v1/incidents/{sev1.pk}/status-updates/").json()["results"]
    assert [u["message"] for u in listed] == ["Found it", "Looking"]
    assert listed[0]["author"]["username"] == responder.username
    assert listed[0]["next_update_at"] is not None


def test_stakeholder_groups_api(api_for, manager, responder, service):
    client = api_for(manager)
    body = {
        "name": "Key accounts",
        "services": [service.pk],
        "min_severity": "SEV2",
        "members": [responder.pk],
        "subscribers": [
            {"kind": "email", "address": "ops@customer.example"},
            {"kind": "webhook", "address": "https://hooks.customer.example/piquet"},
            {"kind": "apprise", "address": "json://127.0.0.1:9/hook"},
        ],
    }
    response = client.post("/api/v1/stakeholder-groups/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {"id", "name", "team", "services", "min_severity", "members", "subscribers"}
    assert {"kind": "webhook", "address": "https://hooks.customer.example/piquet"} in data["subscribers"]

    changed = client.patch(
        f"/api/v1/stakeholder-groups/{data['id']}/",
        {"subscribers": [{"kind": "email", "address": "ops@customer.example"}]},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["subscribers"] == [{"kind": "email", "address": "ops@customer.example"}]
    assert Subscriber.objects.filter(group_id=data["id"]).count() == 1

    bad = client.post(
        "/api/v1/stakeholder-groups/",
        {"name": "Bad", "min_severity": "SEV2", "subscribers": [{"kind": "email", "address": "not an address"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert "subscribers" in bad.json()
    assert client.post("/api/v1/stakeholder-groups/", {"name": "X", "min_severity": "SEV9"}).status_code == 400
    assert api_for(responder).post("/api/v1/stakeholder-groups/", {"name": "Y"}).status_code == 403


@pytest.mark.parametrize("count", [3, 12])
def test_stakeholder_group_list_has_constant_queries(api_for, manager, service, count, django_assert_max_num_queries):
    users = [UserFactory() for _ in range(3)]
    for n in range(count):
        group = StakeholderGroup.objects.create(name=f"Group {n}")
        group.services.add(service)
        group.members.add(*users)
        add_subscriber(group, Subscriber.Kind.EMAIL, f"g{n}@example.com")
    client = api_for(manager)
    with django_assert_max_num_queries(9):
        response = client.get("/api/v1/stakeholder-groups/")
    assert response.json()["count"] == count


def test_a_batch_given_to_two_workers_is_sent_once(responder, customers, sev1, http_receiver):
    from comms import status_updates

    for n in range(30):
        add_subscriber(customers, Subscriber.Kind.WEBHOOK, f"{http_receiver.url}/s/{n}")
    update = status_updates.post(sev1, phase="identified", message="Found it.", by=responder)
    stakeholders.fan_out(update.pk)
    ids = list(update.deliveries.values_list("pk", flat=True))

    assert stakeholders.DELIVERIES.send(ids) == 30
    assert stakeholders.DELIVERIES.send(ids) == 0
    assert len(http_receiver.requests) == 30


def test_rows_left_when_the_time_budget_is_spent_go_back_to_the_ticker(
    responder, customers, sev1, http_receiver, monkeypatch, run_tasks
):
    from comms import status_updates

    add_subscriber(customers, Subscriber.Kind.WEBHOOK, f"{http_receiver.url}/hook")
    update = status_updates.post(sev1, phase="identified", message="Found it.", by=responder)
    monkeypatch.setattr(stakeholders.DELIVERIES, "budget", -1)
    stakeholders.fan_out(update.pk)  # its batch task runs at once, and finds no time left
    ids = list(update.deliveries.values_list("pk", flat=True))

    assert stakeholders.DELIVERIES.send(ids) == 0
    assert http_receiver.requests == []
    delivery = Delivery.objects.get(pk=ids[0])
    assert delivery.status == Delivery.Status.PENDING and delivery.enqueued_at is None

    monkeypatch.setattr(stakeholders.DELIVERIES, "budget", 40)
    with run_tasks():
        cadence.tick()
    assert len(http_receiver.requests) == 1


def test_internal_updates_carry_the_conference_bridge_and_visitors_never_see_it(
    api_for, responder, customers, sev1, run_tasks
):
    sev1.bridge_url, sev1.bridge_phone = "https://meet.example.com/sev1", "+41 44 000 00 00 PIN 1234"
    sev1.save(update_fields=["bridge_url", "bridge_phone"])
    Subscriber.objects.create(group=None, kind="email", address="visitor@example.com", confirmed_at=timezone.now())
    add_subscriber(customers, Subscriber.Kind.EMAIL, "partner@example.com")

    assert post_update(api_for(responder), sev1, run_tasks, phase="monitoring").status_code == 201
    bodies = {m.to[0]: m.body for m in mail.outbox}
    assert "https://meet.example.com/sev1 — +41 44 000 00 00 PIN 1234" in bodies["partner@example.com"]
    assert "meet.example.com" not in bodies["visitor@example.com"]
    assert "PIN" not in bodies["visitor@example.com"]
