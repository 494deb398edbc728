"""The audit trail: every change of configuration from the API, the admin or a command, with its actor and diff."""

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.test import Client

from incidents.models import Integration, Service
from tests.factories import IntegrationFactory, UserFactory
from tests.incidents.test_service_public_fields import service_form

pytestmark = pytest.mark.django_db


def entries_for(obj):
    return list(LogEntry.objects.get_for_object(obj).order_by("timestamp", "id"))


def test_an_api_change_writes_one_entry_with_its_actor_and_diff(api_for, manager, service):
    before = len(entries_for(service))
    response = api_for(manager).patch(
        f"/api/v1/services/{service.pk}/", {"description": "The shop and its API"}, format="json"
    )
    assert response.status_code == 200, response.content
    entries = entries_for(service)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert entry.actor == manager and entry.action == LogEntry.Action.UPDATE
    assert entry.changes_dict["description"] == ["", "The shop and its API"]

    listed = api_for(manager).get(
        "/api/v1/audit/", {"object_type": "incidents.service", "object_id": service.pk, "actor": manager.username}
    )
    assert listed.status_code == 200
    [latest, *_rest] = listed.json()["results"]
    assert latest["actor"] == manager.username and latest["action"] == "update"
    assert latest["object_type"] == "incidents.service" and latest["object_id"] == str(service.pk)
    assert latest["changes"]["description"] == ["", "The shop and its API"]


def test_an_admin_change_writes_one_entry_with_its_actor_and_diff(manager, service):
    client = Client()
    client.force_login(manager)
    before = len(entries_for(service))
    response = client.post(f"/admin/incidents/service/{service.pk}/change/", service_form(service, name="Shop"))
    assert response.status_code == 302
    entries = entries_for(service)
    assert len(entries) == before + 1
    assert entries[-1].actor == manager
    assert entries[-1].changes_dict["name"] == ["Website", "Shop"]


def test_secrets_never_appear_in_an_entry(api_for, manager, service):
    integration = IntegrationFactory(service=service, name="Prometheus")
    created = api_for(manager).post(
        f"/api/v1/services/{service.pk}/integrations/", {"name": "Grafana", "kind": "events_v2"}, format="json"
    )
    assert created.status_code == 201, created.content
    grafana = Integration.objects.get(name="Grafana")
    person = UserFactory(username="pia")
    person.set_password("correct horse battery staple")
    person.save()
    secrets = [integration.key, grafana.key, "correct horse battery staple", person.password]
    dumped = " ".join(str(e.changes) for e in LogEntry.objects.all())
    dumped += api_for(manager).get("/api/v1/audit/").content.decode()
    for secret in secrets:
        assert secret not in dumped
    [entry] = entries_for(grafana)
    assert entry.actor == manager and entry.changes_dict["key"][1] == "…" + grafana.key[-4:]


def test_a_role_change_is_recorded_and_a_command_acts_as_nobody(manager):
    from django.contrib.auth.models import Group

    person = UserFactory(username="nina")
    person.groups.add(Group.objects.get(name="Responders"))
    [entry] = [e for e in entries_for(person) if "groups" in (e.changes or {})]
    assert entry.changes["groups"]["operation"] == "add" and entry.changes["groups"]["objects"] == ["Responders"]
    call_command("load_demo", stdout=__import__("io").StringIO())
    demo = Service.objects.get(slug="website")
    created, *changed = entries_for(demo)
    assert created.action == LogEntry.Action.CREATE
    assert {entry.actor for entry in [created, *changed]} == {None}


def test_only_managers_and_administrators_read_the_trail(api_for, responder, stakeholder, manager, admin_user):
    for person, status in ((responder, 403), (stakeholder, 403), (manager, 200), (admin_user, 200)):
        assert api_for(person).get("/api/v1/audit/").status_code == status
    client = Client()
    client.force_login(responder)
    assert client.get("/admin/auditlog/logentry/").status_code == 403


@pytest.mark.parametrize(
    "query",
    [{"object_type": "service"}, {"object_id": "x"}, {"since": "yesterday"}, {"since": "2026-12-01T00:00:00"}],
)
def test_bad_filters_get_a_400_naming_them(api_for, manager, query):
    response = api_for(manager).get("/api/v1/audit/", query)
    assert response.status_code == 400
    assert set(query) <= set(response.json())
