"""The plays API, an incident's tasks in the API, running a play, the incident type and resolving with tasks open."""

import pytest

from comms.models import StakeholderGroup
from incidents import checklist
from incidents.models import IncidentTask, Play, Status, TimelineEntry
from people.models import Team, TeamMembership
from tests.factories import IncidentFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

PLAYS = "/api/v1/plays/"


def major_outage(**changes):
    body = {
        "name": "Major outage",
        "services": ["website"],
        "severities": ["SEV1"],
        "incident_types": [],
        "tasks": [
            {"title": "Open the bridge", "description": "[How](https://wiki.example.com)", "role": "commander",
             "due_minutes": 5, "required": True},
            {"title": "First status update", "role": "communications", "due_minutes": 15, "required": False},
        ],
        "roles": ["commander", "communications"],
        "responders": {"users": [], "schedules": [], "policies": []},
        "stakeholder_groups": [],
        "bridge_url": "https://meet.example.com/major",
        "bridge_phone": "+41 44 000 00 00 PIN 1234",
        "team": None,
    }  # fmt: skip
    body.update(changes)
    return body


def test_a_manager_creates_a_play_with_its_tasks_in_order_and_reads_it_back(api_for, manager, service, responder):
    group = StakeholderGroup.objects.create(name="Executives")
    body = major_outage(stakeholder_groups=[group.pk], responders={"users": [responder.pk]})
    response = api_for(manager).post(PLAYS, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["services"] == ["website"]
    assert [t["title"] for t in data["tasks"]] == ["Open the bridge", "First status update"]
    assert [t["position"] for t in data["tasks"]] == [1, 2]
    assert data["responders"] == {"users": [responder.pk], "schedules": [], "policies": []}
    assert data["stakeholder_groups"] == [group.pk]
    play = Play.objects.get()
    assert list(group.plays.all()) == [play]

    changed = api_for(manager).patch(
        f"{PLAYS}{play.pk}/", {"tasks": [{"title": "Only this"}], "severities": []}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert [t["title"] for t in changed.json()["tasks"]] == ["Only this"]
    assert changed.json()["severities"] == []


def test_the_plays_list_costs_the_same_for_many_plays(api_for, manager, service, django_assert_max_num_queries):
    api = api_for(manager)
    for index in range(10):
        api.post(PLAYS, major_outage(name=f"Play {index}"), format="json")
    with django_assert_max_num_queries(13):  # authentication, the page, its count and one prefetch per relation
        response = api.get(PLAYS)
    assert response.status_code == 200
    assert response.json()["count"] == 10


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"severities": ["SEV9"]}, "severities"),
        ({"incident_types": ["aliens"]}, "incident_types"),
        ({"roles": ["janitor"]}, "roles"),
        ({"services": ["nope"]}, "services"),
        ({"bridge_url": "javascript:alert(1)"}, "bridge_url"),
        ({"bridge_url": "ftp://example.com/x"}, "bridge_url"),
        ({"bridge_phone": "call me"}, "bridge_phone"),
        ({"tasks": [{"title": ""}]}, "tasks"),
        ({"tasks": [{"title": "x", "due_minutes": -1}]}, "tasks"),
        ({"tasks": [{"title": "x", "role": "boss"}]}, "tasks"),
        ({"tasks": "many"}, "tasks"),
        ({"responders": {"users": [999999]}}, "responders"),
        ({"stakeholder_groups": ["x"]}, "stakeholder_groups"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_plays_are_refused_naming_the_field(api_for, manager, service, changes, field):
    response = api_for(manager).post(PLAYS, major_outage(**changes), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Play.objects.exists()


def test_role_matrix_for_plays(api_for, manager, responder, stakeholder, service):
    assert api_for(responder).post(PLAYS, major_outage(), format="json").status_code == 403
    assert api_for(stakeholder).post(PLAYS, major_outage(), format="json").status_code == 403
    created = api_for(manager).post(PLAYS, major_outage(), format="json")
    assert created.status_code == 201
    assert api_for(responder).get(PLAYS).json()["count"] == 1
    url = f"{PLAYS}{created.json()['id']}/"
    assert api_for(responder).delete(url).status_code == 403
    assert api_for(None).get(PLAYS).status_code in (401, 403)
    assert api_for(manager).delete(url).status_code == 204


def test_a_team_manager_edits_the_plays_of_their_team_only(api_for, service):
    platform, payments = (
        Team.objects.create(name="Platform", slug="platform"),
        Team.objects.create(name="Payments", slug="payments"),
    )
    lead = UserFactory(username="lea", roles=["Responders"])
    TeamMembership.objects.create(team=platform, user=lead, role=TeamMembership.Role.MANAGER)
    assert api_for(lead).post(PLAYS, major_outage(), format="json").status_code == 400  # must pick their team
    mine = api_for(lead).post(PLAYS, major_outage(team=platform.pk), format="json")
    assert mine.status_code == 201
    theirs = Play.objects.create(name="Theirs", team=payments)
    assert api_for(lead).get(f"{PLAYS}{theirs.pk}/").status_code == 404
    assert api_for(lead).patch(f"{PLAYS}{mine.json()['id']}/", {"name": "Ours"}, format="json").status_code == 200


# --- an incident's tasks -----------------------------------------------------------------------


def _play(**fields):
    play = Play.objects.create(name="Checklist", **fields)
    play.tasks.create(position=1, title="Roll back", required=True, due_minutes=10)
    play.tasks.create(position=2, title="Tell support")
    return play


def test_running_a_play_through_the_api_and_again_adds_nothing(api_for, responder, service):
    play = _play()
    incident = IncidentFactory(service=service)
    url = f"/api/v1/incidents/{incident.pk}/run-play/"
    first = api_for(responder).post(url, {"play": play.pk}, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["tasks_added"] == 2
    again = api_for(responder).post(url, {"play": play.pk}, format="json")
    assert again.status_code == 200
    assert "nothing was added" in again.json()["detail"]
    assert IncidentTask.objects.filter(incident=incident).count() == 2
    assert api_for(responder).post(url, {"play": 999999}, format="json").status_code == 400
    assert api_for(responder).post(url, {"play": "x"}, format="json").status_code == 400
    assert api_for(responder).post(url, {}, format="json").status_code == 400


def test_tasks_are_listed_added_completed_skipped_and_assigned(
    api_for, responder, teammate, service, django_assert_max_num_queries
):
    incident = IncidentFactory(service=service)
    api = api_for(responder)
    base = f"/api/v1/incidents/{incident.pk}/tasks/"
    api.post(f"/api/v1/incidents/{incident.pk}/run-play/", {"play": _play().pk}, format="json")
    added = api.post(base, {"title": "Check the CDN", "role": "scribe"}, format="json")
    assert added.status_code == 201 and added.json()["state"] == "open"
    with django_assert_max_num_queries(8):
        listed = api.get(base)
    assert [t["title"] for t in listed.json()] == ["Roll back", "Tell support", "Check the CDN"]
    assert listed.json()[0]["play"] == "Checklist"
    first, second, third = (t["id"] for t in listed.json())
    assert api.post(f"{base}{first}/complete/").json()["state"] == "done"
    skipped = api.post(f"{base}{second}/skip/", {"reason": "support knows"}, format="json")
    assert skipped.json()["state"] == "skipped" and skipped.json()["skip_reason"] == "support knows"
    assigned = api.post(f"{base}{third}/assign/", {"user": teammate.pk}, format="json")
    assert assigned.json()["assignee"]["id"] == teammate.pk
    kinds = incident.timeline.filter(kind=TimelineEntry.Kind.TASK).values_list("data__action", flat=True)
    assert sorted(kinds) == ["added", "assigned", "done", "skipped"]


def test_bad_task_input_is_a_400_naming_the_field_and_a_done_task_cannot_be_skipped(api_for, responder, service):
    incident = IncidentFactory(service=service)
    task = checklist.add(incident, title="Roll back", by=responder)
    api = api_for(responder)
    base = f"/api/v1/incidents/{incident.pk}/tasks/"
    assert "reason" in api.post(f"{base}{task.pk}/skip/", {}, format="json").json()
    assert "reason" in api.post(f"{base}{task.pk}/skip/", {"reason": "   "}, format="json").json()
    assert "user" in api.post(f"{base}{task.pk}/assign/", {"user": "me"}, format="json").json()
    assert "title" in api.post(base, {"title": ""}, format="json").json()
    assert "role" in api.post(base, {"title": "x", "role": "boss"}, format="json").json()
    assert "due_at" in api.post(base, {"title": "x", "due_at": "tomorrow"}, format="json").json()
    assert api.post(f"{base}999999/complete/").status_code == 404
    api.post(f"{base}{task.pk}/complete/")
    assert api.post(f"{base}{task.pk}/skip/", {"reason": "late"}, format="json").status_code == 409


def test_role_matrix_for_tasks(api_for, responder, manager, stakeholder, outsider, service):
    incident = IncidentFactory(service=service)
    task = checklist.add(incident, title="Roll back", by=responder)
    base = f"/api/v1/incidents/{incident.pk}/tasks/"
    assert api_for(stakeholder).get(base).status_code == 200
    assert api_for(stakeholder).post(f"{base}{task.pk}/complete/").status_code == 403
    assert api_for(stakeholder).post(base, {"title": "x"}, format="json").status_code == 403
    assert api_for(outsider).get(base).status_code == 403
    assert api_for(manager).post(f"{base}{task.pk}/complete/").status_code == 200
    hidden = IncidentFactory(service=ServiceFactory(team=Team.objects.create(name="Other", slug="other")))
    assert api_for(responder).get(f"/api/v1/incidents/{hidden.pk}/tasks/").status_code == 404


def test_resolving_through_the_api_with_required_tasks_open_is_a_409_unless_confirmed(api_for, responder, service):
    incident = IncidentFactory(service=service)
    checklist.add(incident, title="Tell the customers", required=True, by=responder)
    checklist.add(incident, title="Optional", by=responder)
    url = f"/api/v1/incidents/{incident.pk}/resolve/"
    refused = api_for(responder).post(url, {}, format="json")
    assert refused.status_code == 409
    assert [t["title"] for t in refused.json()["open_required_tasks"]] == ["Tell the customers"]
    incident.refresh_from_db()
    assert incident.status != Status.RESOLVED
    assert api_for(responder).post(url, {"confirm": "maybe"}, format="json").status_code == 400
    done = api_for(responder).post(url, {"confirm": True}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert IncidentTask.objects.filter(incident=incident, state="open").count() == 2


def test_the_incident_type_is_changed_through_the_api(api_for, responder, stakeholder, service):
    incident = IncidentFactory(service=service)
    url = f"/api/v1/incidents/{incident.pk}/type/"
    assert api_for(stakeholder).post(url, {"incident_type": "security"}, format="json").status_code == 403
    assert api_for(responder).post(url, {"incident_type": "aliens"}, format="json").status_code == 400
    assert api_for(responder).post(url, {}, format="json").status_code == 400
    changed = api_for(responder).patch(url, {"incident_type": "security"}, format="json")
    assert changed.status_code == 200 and changed.json()["incident_type"] == "security"
    cleared = api_for(responder).post(url, {"incident_type": ""}, format="json")
    assert cleared.json()["incident_type"] == ""
    assert incident.timeline.filter(kind=TimelineEntry.Kind.INCIDENT_TYPE).count() == 2
