"""Teams: people see their teams' objects and the organisation-wide ones, in the admin and the API; team managers
manage their team's; Managers (organisation administrators) see and manage everything."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comms.models import StakeholderGroup
from incidents.models import MaintenanceWindow, Page
from people.models import Team, TeamMembership
from project.roles import RESPONDERS
from rotations.policies import EscalationPolicy
from tests.factories import IncidentFactory, IntegrationFactory, ServiceFactory, UserFactory
from tests.releases.factories import ReleaseWindowFactory
from tests.rotations.factories import LayerFactory, OverrideFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


def owned_by(team, label):
    """One of each team-owned object, named after `label`, and the children that follow them."""
    service = ServiceFactory(name=f"{label} service", slug=f"{label}-service", team=team)
    schedule = ScheduleFactory(name=f"{label} schedule", team=team)
    layer = LayerFactory(schedule=schedule, name=f"{label} layer")
    someone = UserFactory(username=f"{label}-person")
    override = OverrideFactory(
        schedule=schedule,
        user=someone,
        start=datetime(2030, 1, 1, tzinfo=UTC),
        end=datetime(2030, 1, 2, tzinfo=UTC),
        reason=f"{label} override",
    )
    return {
        "service": service,
        "integration": IntegrationFactory(service=service, name=f"{label} integration"),
        "schedule": schedule,
        "layer": layer,
        "override": override,
        "policy": EscalationPolicy.objects.create(name=f"{label} policy", team=team),
        "group": StakeholderGroup.objects.create(name=f"{label} stakeholders", team=team),
        "window": ReleaseWindowFactory(name=f"{label} window", team=team),
        "incident": IncidentFactory(service=service, title=f"{label} incident"),
        "maintenance": MaintenanceWindow.objects.create(
            name=f"{label} maintenance",
            team=team,
            starts_at=datetime(2030, 1, 1, tzinfo=UTC),
            ends_at=datetime(2030, 1, 2, tzinfo=UTC),
        ),
    }


@pytest.fixture
def world():
    red, blue = Team.objects.create(name="Red", slug="red"), Team.objects.create(name="Blue", slug="blue")
    alice = UserFactory(username="alice", first_name="Alice", last_name="Red", roles=[RESPONDERS])
    bruno = UserFactory(username="bruno", first_name="Bruno", last_name="Blue", roles=[RESPONDERS])
    TeamMembership.objects.create(team=red, user=alice)
    TeamMembership.objects.create(team=blue, user=bruno, role=TeamMembership.Role.MANAGER)
    return {
        "red": red,
        "blue": blue,
        "alice": alice,
        "bruno": bruno,
        "mine": owned_by(red, "red"),
        "theirs": owned_by(blue, "blue"),
        "everyone": owned_by(None, "org"),
    }


ADMIN_LISTS = {
    "service": "admin:incidents_service_changelist",
    "integration": "admin:incidents_integration_changelist",
    "schedule": "admin:rotations_schedule_changelist",
    "layer": "admin:rotations_layer_changelist",
    "override": "admin:rotations_override_changelist",
    "policy": "admin:rotations_escalationpolicy_changelist",
    "group": "admin:comms_stakeholdergroup_changelist",
    "window": "admin:releases_releasewindow_changelist",
    "incident": "admin:incidents_incident_changelist",
    "maintenance": "admin:incidents_maintenancewindow_changelist",
}


INCIDENTS_ALL = {"status": "all"}  # the incident list shows open incidents unless asked for all


def name_of(obj):
    return getattr(obj, "title", None) or getattr(obj, "reason", None) or obj.name


@pytest.mark.parametrize("kind", sorted(ADMIN_LISTS))
def test_admin_lists_show_my_teams_and_the_organisation_but_not_another_team(client, world, kind):
    client.force_login(world["alice"])
    page = client.get(reverse(ADMIN_LISTS[kind]), INCIDENTS_ALL if kind == "incident" else {})
    assert page.status_code == 200
    html = page.content.decode()
    assert name_of(world["mine"][kind]) in html
    assert name_of(world["everyone"][kind]) in html
    assert name_of(world["theirs"][kind]) not in html


@pytest.mark.parametrize("kind", sorted(ADMIN_LISTS))
def test_another_teams_admin_page_is_not_shown(client, world, kind):
    client.force_login(world["alice"])
    theirs = world["theirs"][kind]
    url = reverse(ADMIN_LISTS[kind].replace("_changelist", "_change"), args=[theirs.pk])
    page = client.get(url)
    assert page.status_code == 302 and page["Location"] == reverse("admin:index")


API_LISTS = {
    "service": "/api/v1/services/",
    "schedule": "/api/v1/schedules/",
    "policy": "/api/v1/escalation-policies/",
    "group": "/api/v1/stakeholder-groups/",
    "window": "/api/v1/releases/windows/",
    "incident": "/api/v1/incidents/",
    "maintenance": "/api/v1/maintenance-windows/",
}


def listed_ids(response):
    data = response.json()
    rows = data["results"] if isinstance(data, dict) else data
    return {row["id"] for row in rows}


@pytest.mark.parametrize("kind", sorted(API_LISTS))
def test_api_lists_and_details_are_scoped_to_my_teams(api_for, world, kind):
    api = api_for(world["alice"])
    response = api.get(API_LISTS[kind])
    assert response.status_code == 200, response.content
    ids = listed_ids(response)
    assert world["mine"][kind].pk in ids
    assert world["everyone"][kind].pk in ids
    assert world["theirs"][kind].pk not in ids
    assert api.get(f"{API_LISTS[kind]}{world['theirs'][kind].pk}/").status_code == 404
    assert api.get(f"{API_LISTS[kind]}{world['mine'][kind].pk}/").status_code == 200


def test_nested_endpoints_of_another_team_answer_404(api_for, world):
    api = api_for(world["alice"])
    theirs = world["theirs"]
    assert api.get(f"/api/v1/services/{theirs['service'].pk}/integrations/").status_code == 404
    assert api.get(f"/api/v1/schedules/{theirs['schedule'].pk}/layers/").status_code == 404
    assert api.get(f"/api/v1/schedules/{theirs['schedule'].pk}/overrides/").status_code == 404
    assert api.get(f"/api/v1/incidents/{theirs['incident'].pk}/timeline/").status_code == 404
    assert api.get(f"/api/v1/incidents/{theirs['incident'].pk}/status-updates/").status_code == 404
    assert api.get(f"/api/v1/services/{world['mine']['service'].pk}/integrations/").status_code == 200
    names = {row["name"] for row in api.get("/api/v1/oncall/").json()}
    assert "red schedule" in names and "blue schedule" not in names


def test_an_incident_that_paged_me_is_visible_whatever_its_team(api_for, client, world):
    theirs = world["theirs"]["incident"]
    Page.objects.create(incident=theirs, round=1, step=1, user=world["alice"])
    api = api_for(world["alice"])
    assert theirs.pk in listed_ids(api.get(API_LISTS["incident"]))
    assert api.get(f"/api/v1/incidents/{theirs.pk}/").status_code == 200
    client.force_login(world["alice"])
    assert "blue incident" in client.get(reverse(ADMIN_LISTS["incident"]), INCIDENTS_ALL).content.decode()


def test_managers_see_every_team(api_for, manager, world):
    api = api_for(manager)
    for kind, url in API_LISTS.items():
        ids = listed_ids(api.get(url))
        assert {world[owner][kind].pk for owner in ("mine", "theirs", "everyone")} <= ids, kind


def test_a_team_manager_changes_their_teams_objects_and_nothing_else(api_for, world):
    api = api_for(world["bruno"])
    theirs, everyone = world["theirs"], world["everyone"]
    assert (
        api.patch(f"/api/v1/services/{theirs['service'].pk}/", {"description": "ours"}, format="json").status_code
        == 200
    )
    assert (
        api.patch(f"/api/v1/services/{everyone['service'].pk}/", {"description": "x"}, format="json").status_code == 403
    )
    assert (
        api.patch(f"/api/v1/services/{world['mine']['service'].pk}/", {"description": "x"}, format="json").status_code
        == 404
    )
    layer = api.patch(
        f"/api/v1/schedules/{theirs['schedule'].pk}/layers/{theirs['layer'].pk}/", {"name": "Nights"}, format="json"
    )
    assert layer.status_code == 200, layer.content
    assert (
        api.post(f"/api/v1/services/{everyone['service'].pk}/integrations/", {"name": "x"}, format="json").status_code
        == 403
    )


def test_a_team_manager_creates_only_for_a_team_they_manage(api_for, world):
    api = api_for(world["bruno"])
    body = {"name": "Blue nights", "time_zone": "Europe/Zurich"}
    without = api.post("/api/v1/schedules/", body, format="json")
    assert without.status_code == 400 and "team" in without.json()
    assert api.post("/api/v1/schedules/", {**body, "team": world["red"].pk}, format="json").status_code == 400
    created = api.post("/api/v1/schedules/", {**body, "team": world["blue"].pk}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["team"] == world["blue"].pk
    moved = api.patch(f"/api/v1/schedules/{created.json()['id']}/", {"team": None}, format="json")
    assert moved.status_code == 400


def test_a_plain_member_only_reads(api_for, world):
    api = api_for(world["alice"])
    mine = world["mine"]
    assert api.patch(f"/api/v1/services/{mine['service'].pk}/", {"description": "x"}, format="json").status_code == 403
    body = {"name": "x", "time_zone": "UTC", "team": world["red"].pk}
    assert api.post("/api/v1/schedules/", body, format="json").status_code == 403


def test_a_team_manager_edits_their_service_in_the_admin_and_picks_only_their_team(client, world):
    client.force_login(world["bruno"])
    service = world["theirs"]["service"]
    url = reverse("admin:incidents_service_change", args=[service.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert list(form.fields["team"].queryset) == [world["blue"]]
    assert form.fields["team"].required
    org = reverse("admin:incidents_service_change", args=[world["everyone"]["service"].pk])
    assert 'name="_save"' not in client.get(org).content.decode()  # organisation-wide: read-only for them
    add = client.get(reverse("admin:rotations_schedule_add"))
    assert add.status_code == 200
    assert list(add.context["adminform"].form.fields["team"].queryset) == [world["blue"]]


def test_a_team_manager_keeps_their_teams_members_but_not_anothers(client, world):
    client.force_login(world["bruno"])
    assert client.get(reverse("admin:people_team_change", args=[world["blue"].pk])).status_code == 200
    red = client.get(reverse("admin:people_team_change", args=[world["red"].pk]))
    assert 'name="_save"' not in red.content.decode()


def test_the_teams_api(api_for, manager, world):
    assert {"name", "slug", "id"} == set(api_for(world["alice"]).get("/api/v1/teams/").json()["results"][0])
    assert api_for(world["alice"]).post("/api/v1/teams/", {"name": "Green", "slug": "green"}).status_code == 403
    created = api_for(manager).post("/api/v1/teams/", {"name": "Green", "slug": "green"}, format="json")
    assert created.status_code == 201
    members = f"/api/v1/teams/{world['blue'].pk}/members/"
    added = api_for(world["bruno"]).post(members, {"user": world["alice"].pk, "role": "member"}, format="json")
    assert added.status_code == 201, added.content
    again = api_for(world["bruno"]).post(members, {"user": world["alice"].pk, "role": "member"}, format="json")
    assert again.status_code == 400
    red_members = f"/api/v1/teams/{world['red'].pk}/members/"
    assert api_for(world["bruno"]).post(red_members, {"user": world["bruno"].pk}, format="json").status_code == 403
    assert api_for(world["alice"]).get(red_members).status_code == 200
    assert api_for(world["alice"]).get(f"/api/v1/teams/{2**70}/members/").status_code == 404
    # Alice now sees Blue's service too.
    ids = listed_ids(api_for(world["alice"]).get("/api/v1/services/"))
    assert world["theirs"]["service"].pk in ids


def test_a_team_with_objects_cannot_be_deleted(api_for, manager, world):
    response = api_for(manager).delete(f"/api/v1/teams/{world['blue'].pk}/")
    assert response.status_code == 409
    assert Team.objects.filter(pk=world["blue"].pk).exists()


def test_list_queries_do_not_grow_with_teams(api_for, world):
    api = api_for(world["alice"])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/v1/services/").status_code == 200
        return len(captured)

    one_team = queries()
    for n in range(5):
        team = Team.objects.create(name=f"T{n}", slug=f"t{n}")
        TeamMembership.objects.create(team=team, user=world["alice"])
        ServiceFactory(team=team)
    assert queries() == one_team


def test_a_team_manager_reads_the_audit_trail_of_their_team_only(api_for, client, world):
    bruno = api_for(world["bruno"])
    theirs, mine = world["theirs"], world["mine"]
    assert (
        bruno.patch(f"/api/v1/services/{theirs['service'].pk}/", {"description": "ours"}, format="json").status_code
        == 200
    )
    assert api_for(world["alice"]).get("/api/v1/audit/").status_code == 403  # a member, not a manager
    rows = bruno.get("/api/v1/audit/").json()["results"]
    about = {(row["object_type"], row["object_id"]) for row in rows}
    assert ("incidents.service", str(theirs["service"].pk)) in about
    assert ("rotations.layer", str(theirs["layer"].pk)) in about
    assert ("people.team", str(world["blue"].pk)) in about
    assert ("incidents.service", str(mine["service"].pk)) not in about
    assert ("incidents.service", str(world["everyone"]["service"].pk)) not in about
    update = next(r for r in rows if r["action"] == "update" and r["object_type"] == "incidents.service")
    assert update["actor"] == "bruno" and update["changes"]["description"][1] == "ours"
    client.force_login(world["bruno"])
    page = client.get(reverse("admin:auditlog_logentry_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "blue service" in html and "red service" not in html
    client.force_login(world["alice"])
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 403


def test_the_admin_index_blocks_show_my_teams_only(client, world):
    client.force_login(world["alice"])
    html = client.get(reverse("admin:index")).content.decode()
    assert "red incident" in html and "org incident" in html and "blue incident" not in html
    assert "red schedule" in html and "blue schedule" not in html
