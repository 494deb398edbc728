"""Routing rules through the API: CRUD scoped by the service's team, hard validation, and the test console."""

import pytest

from incidents.models import Alert, Incident, Integration, RoutingRule, SuppressedEvent, TimelineEntry
from people.models import Team, TeamMembership
from tests.factories import IntegrationFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

RULE = {
    "position": 1,
    "match": {"all": [{"field": "labels.team", "op": "equals", "value": "payments"}]},
    "set": {"service": "payments", "severity": "SEV2", "urgency": "low", "title": "{labels.alertname}"},
    "drop": False,
}


@pytest.fixture
def payments(db):
    return ServiceFactory(name="Payments", slug="payments")


def url(integration, rest=""):
    return f"/api/v1/integrations/{integration.pk}/rules/{rest}"


def counts():
    return (
        Incident.objects.count(),
        Alert.objects.count(),
        TimelineEntry.objects.count(),
        SuppressedEvent.objects.count(),
        RoutingRule.objects.count(),
    )


def test_manager_creates_lists_changes_and_deletes_a_rule(api_for, manager, am_integration, payments):
    api = api_for(manager)
    response = api.post(url(am_integration), RULE, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["set"]["service"] == "payments" and created["integration"] == am_integration.pk
    rule = RoutingRule.objects.get()
    assert (rule.service, rule.severity, rule.urgency, rule.title_template) == (
        payments,
        "SEV2",
        "low",
        "{labels.alertname}",
    )
    assert [r["id"] for r in api.get(url(am_integration)).json()["results"]] == [rule.pk]
    response = api.patch(url(am_integration, f"{rule.pk}/"), {"drop": True}, format="json")
    assert response.status_code == 200, response.json()
    rule.refresh_from_db()
    assert rule.drop and rule.service == payments
    assert api.delete(url(am_integration, f"{rule.pk}/")).status_code == 204
    assert not RoutingRule.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"match": {"all": [{"field": "labels.team", "op": "like", "value": "x"}]}}, "match.all[0].op"),
        ({"match": {"all": [{"field": "labels.team", "op": "regex", "value": "(unclosed"}]}}, "match.all[0].value"),
        ({"match": {"all": [{"field": "labels.team", "op": "regex", "value": "(a+)+$"}]}}, "match.all[0].value"),
        ({"match": {"all": [{"field": "labels.team", "op": "regex", "value": "a" * 201}]}}, "match.all[0].value"),
        ({"match": {"all": [{"field": "payload.team", "op": "exists"}]}}, "match.all[0].field"),
        ({"match": {"some": []}}, "match"),
        ({"match": {"any": []}}, "match"),
        ({"set": {"service": "nowhere"}}, "set.service"),
        ({"set": {"severity": "SEV9"}}, "set"),
        ({"set": {"title": "{nope.x}"}}, "set.title"),
        ({"set": {"dedup_key": "{labels.x"}}, "set.dedup_key"),
    ],
)
def test_bad_rules_are_400_naming_the_field(api_for, manager, am_integration, payments, change, field):
    response = api_for(manager).post(url(am_integration), {**RULE, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not RoutingRule.objects.exists()


def test_team_manager_manages_rules_of_their_services_only(api_for, service, payments):
    team = Team.objects.create(name="Web", slug="web")
    boss = UserFactory(username="boss")
    TeamMembership.objects.create(team=team, user=boss, role=TeamMembership.Role.MANAGER)
    service.team = team
    service.save()
    mine = IntegrationFactory(service=service, kind=Integration.Kind.ALERTMANAGER)
    other_team = Team.objects.create(name="Other", slug="other")
    theirs = IntegrationFactory(service=ServiceFactory(team=other_team), kind=Integration.Kind.ALERTMANAGER)
    api = api_for(boss)
    assert api.post(url(mine), RULE, format="json").status_code == 201
    assert api.post(url(theirs), RULE, format="json").status_code == 404
    assert api.post(url(theirs, "test/"), {"labels": {}}, format="json").status_code == 404


def test_outsider_cannot_change_rules(api_for, responder, am_integration, payments):
    assert api_for(responder).post(url(am_integration), RULE, format="json").status_code == 403
    assert api_for(None).get(url(am_integration)).status_code in (401, 403)


def test_console_answers_which_rule_matched_without_writing(api_for, manager, am_integration, payments):
    api = api_for(manager)
    api.post(url(am_integration), RULE, format="json")
    dropping = {**RULE, "position": 2, "match": {"any": [{"field": "labels.env", "op": "exists"}]}, "drop": True}
    api.post(url(am_integration), dropping, format="json")
    first, second = RoutingRule.objects.order_by("position")
    before = counts()
    body = {
        "groupKey": "g",
        "status": "firing",
        "commonLabels": {"alertname": "DiskFull"},
        "alerts": [
            {"labels": {"team": "payments", "severity": "critical"}},
            {"labels": {"env": "test"}},
            {"labels": {}},
        ],
    }
    response = api.post(url(am_integration, "test/"), body, format="json")
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["matched"] == first.pk and answer["dropped"] is False
    assert answer["event"] == {
        "service": "payments",
        "severity": "SEV2",
        "urgency": "low",
        "dedup_key": "g",
        "title": "DiskFull",
    }
    assert [(a["matched"], a["dropped"]) for a in answer["alerts"]] == [
        (first.pk, False),
        (second.pk, True),
        (None, False),
    ]
    assert answer["alerts"][2]["event"]["service"] == "website"
    assert counts() == before


def test_console_for_events_v2_and_webhooks(api_for, manager, integration, service):
    api = api_for(manager)
    answer = api.post(
        url(integration, "test/"),
        {"event_action": "trigger", "dedup_key": "k", "payload": {"summary": "Disk", "severity": "warning"}},
        format="json",
    ).json()
    assert answer == {
        "matched": None,
        "dropped": False,
        "event": {
            "service": "website",
            "severity": "SEV3",
            "urgency": "low",
            "dedup_key": "k",
            "title": "Disk",
            "action": "trigger",
        },
    }
    hook = IntegrationFactory(service=service, kind=Integration.Kind.WEBHOOK)
    before = counts()
    answer = api.post(url(hook, "test/"), {"title": "Down", "id": "x", "status": "resolved"}, format="json").json()
    assert answer["event"]["resolve"] is True and answer["event"]["title"] == "Down"
    assert api.post(url(hook, "test/"), [1, 2], format="json").status_code == 400
    assert counts() == before
