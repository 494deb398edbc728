import pytest
from django.test import Client

from incidents.models import Service
from rotations.models import EscalationPolicy, Schedule
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(db):
    return Schedule.objects.create(name="Platform", time_zone="Europe/Zurich")


def policy_body(alice, schedule, **extra):
    return {
        "name": "Website",
        "description": "Who is woken up for the website",
        "repeat": 2,
        "steps": [
            {"escalate_after_minutes": 5, "targets": [{"type": "schedule", "id": schedule.pk}]},
            {"escalate_after_minutes": 10, "targets": [{"type": "user", "id": alice.pk}]},
        ],
        **extra,
    }


def test_managers_create_a_policy_with_nested_steps_and_attach_it_to_a_service(api_for, manager, schedule, service):
    alice = UserFactory(username="alice", first_name="Alice", last_name="Martin")
    api = api_for(manager)
    response = api.post("/api/v1/escalation-policies/", policy_body(alice, schedule), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["steps"] == policy_body(alice, schedule)["steps"]
    response = api.patch(f"/api/v1/services/{service.pk}/", {"escalation_policy": data["id"]}, format="json")
    assert response.status_code == 200
    assert Service.objects.get().escalation_policy.name == "Website"
    words = EscalationPolicy.objects.get().in_words()
    assert words == "1. on call for Platform — after 5 min → 2. Alice Martin — after 10 min (repeated 2 more time(s))"


def test_steps_can_be_replaced(api_for, manager, schedule):
    alice = UserFactory(username="alice")
    api = api_for(manager)
    policy = api.post("/api/v1/escalation-policies/", policy_body(alice, schedule), format="json").json()
    steps = [{"escalate_after_minutes": 1, "targets": [{"type": "user", "id": alice.pk}]}]
    response = api.patch(f"/api/v1/escalation-policies/{policy['id']}/", {"steps": steps}, format="json")
    assert response.status_code == 200
    assert response.json()["steps"] == steps


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"repeat": 10}, "repeat"),
        ({"steps": [{"escalate_after_minutes": 0, "targets": [{"type": "user", "id": 1}]}]}, "steps"),
        ({"steps": [{"escalate_after_minutes": 5, "targets": []}]}, "steps"),
        ({"steps": [{"escalate_after_minutes": 5, "targets": [{"type": "user", "id": 99999}]}]}, "steps"),
        ({"steps": [{"escalate_after_minutes": 5, "targets": [{"type": "team", "id": 1}]}]}, "steps"),
        ({"steps": "soon"}, "steps"),
    ],
)
def test_bad_policies_are_400_naming_the_field(api_for, manager, schedule, change, field):
    alice = UserFactory(username="alice")
    response = api_for(manager).post(
        "/api/v1/escalation-policies/", {**policy_body(alice, schedule), **change}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert EscalationPolicy.objects.count() == 0


def test_responders_read_policies_but_cannot_change_them(api_for, responder):
    api = api_for(responder)
    assert api.get("/api/v1/escalation-policies/").status_code == 200
    assert api.post("/api/v1/escalation-policies/", {"name": "x", "steps": []}, format="json").status_code == 403


def test_policy_list_queries_do_not_grow(api_for, manager, schedule, django_assert_max_num_queries):
    alice = UserFactory(username="alice")
    api = api_for(manager)
    api.post("/api/v1/escalation-policies/", policy_body(alice, schedule, name="p0"), format="json")
    with django_assert_max_num_queries(10) as few:
        api.get("/api/v1/escalation-policies/")
    baseline = len(few.captured_queries)
    for index in range(1, 8):
        api.post("/api/v1/escalation-policies/", policy_body(alice, schedule, name=f"p{index}"), format="json")
    with django_assert_max_num_queries(baseline):
        assert api.get("/api/v1/escalation-policies/").json()["count"] == 8


def test_service_admin_shows_the_chain_in_words(manager, schedule, service, api_for):
    alice = UserFactory(username="alice", first_name="Alice", last_name="Martin")
    policy = api_for(manager).post("/api/v1/escalation-policies/", policy_body(alice, schedule), format="json").json()
    service.escalation_policy_id = policy["id"]
    service.save()
    client = Client()
    client.force_login(manager)
    page = client.get(f"/admin/incidents/service/{service.pk}/change/").content.decode()
    assert "1. on call for Platform — after 5 min → 2. Alice Martin — after 10 min" in page
    page = client.get(f"/admin/rotations/escalationpolicy/{policy['id']}/change/")
    assert page.status_code == 200


def test_a_new_incident_takes_the_whole_chain_in_one_query(api_for, manager, schedule, django_assert_num_queries):
    people = [UserFactory() for _ in range(3)]
    other = Schedule.objects.create(name="Database", time_zone="America/New_York")
    body = policy_body(people[0], schedule)
    body["steps"] = [
        {
            "escalate_after_minutes": 5,
            "targets": [{"type": "user", "id": people[2].pk}, {"type": "user", "id": people[0].pk}],
        },
        {"escalate_after_minutes": 1, "targets": [{"type": "user", "id": people[1].pk}]},
        {
            "escalate_after_minutes": 15,
            "targets": [
                {"type": "schedule", "id": other.pk},
                {"type": "schedule", "id": schedule.pk},
                {"type": "user", "id": people[1].pk},
            ],
        },
    ]
    assert api_for(manager).post("/api/v1/escalation-policies/", body, format="json").status_code == 201
    policy = EscalationPolicy.objects.get()
    with django_assert_num_queries(1):
        snapshot = policy.snapshot()
    by_kind = lambda targets: sorted((t["type"], t["id"]) for t in targets)  # noqa: E731
    assert snapshot["repeat"] == 2 and snapshot["policy"] == policy.pk
    assert [step["escalate_after_minutes"] for step in snapshot["steps"]] == [5, 1, 15]
    for got, sent in zip(snapshot["steps"], body["steps"], strict=True):
        assert by_kind(got["targets"]) == by_kind(sent["targets"])
    # The API shows the same chain, from prefetched steps.
    listed = api_for(manager).get(f"/api/v1/escalation-policies/{policy.pk}/").json()["steps"]
    assert listed == snapshot["steps"]
    # The next incident moments later reads nothing; a change of the chain is seen at once.
    with django_assert_num_queries(0):
        assert policy.snapshot() == snapshot
    body["steps"] = [{"escalate_after_minutes": 7, "targets": [{"type": "user", "id": people[1].pk}]}]
    assert api_for(manager).put(f"/api/v1/escalation-policies/{policy.pk}/", body, format="json").status_code == 200
    assert policy.snapshot()["steps"] == [
        {"escalate_after_minutes": 7, "targets": [{"type": "user", "id": people[1].pk}]}
    ]
    EscalationPolicy.objects.get().steps.get().users.add(people[2])
    assert len(policy.snapshot()["steps"][0]["targets"]) == 2
