"""Trading shifts through the API: overrides by the people on a schedule, swap and cover requests, and the
notices that tell people about them (sent for real to a local webhook)."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from incidents import notices, swap_notices
from incidents.models import Notice
from people.models import ContactMethod, NotificationRule, Team, TeamMembership
from project.roles import RESPONDERS
from rotations.models import Override, SwapRequest
from tests.factories import UserFactory
from tests.rotations.factories import LayerFactory, ScheduleFactory
from worker import ticker

ZURICH = ZoneInfo("Europe/Zurich")
MONDAY = datetime(2024, 6, 3, 9, 0, tzinfo=ZURICH)  # rita's day; Tuesday is theo's, Wednesday rita's …
NOW = MONDAY - timedelta(hours=3)


def at(day, hour):
    return (MONDAY.replace(hour=hour) + timedelta(days=day)).isoformat()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def team(db):
    return Team.objects.create(name="Platform", slug="platform")


@pytest.fixture
def boss(team):
    user = UserFactory(username="bea", first_name="Bea", last_name="Boss", roles=[RESPONDERS])
    TeamMembership.objects.create(team=team, user=user, role=TeamMembership.Role.MANAGER)
    return user


@pytest.fixture
def cat(team):
    user = UserFactory(username="cat", first_name="Cat", last_name="Third", roles=[RESPONDERS])
    TeamMembership.objects.create(team=team, user=user)
    return user


@pytest.fixture
def schedule(team, responder, teammate, cat):
    for user in (responder, teammate):
        TeamMembership.objects.create(team=team, user=user)
    schedule = ScheduleFactory(name="Platform", team=team, time_zone="Europe/Zurich")
    LayerFactory(
        schedule=schedule, name="Primary", rotation_start=MONDAY, shift_unit="days", participants=[responder, teammate]
    )
    LayerFactory(
        schedule=schedule,
        name="Backup",
        priority=-1,
        rotation_start=MONDAY,
        shift_unit="weeks",
        participants=[cat],
    )
    return schedule


def overrides_url(schedule):
    return f"/api/v1/schedules/{schedule.pk}/overrides/"


def swaps_url(schedule, swap=None, action=None):
    url = f"/api/v1/schedules/{schedule.pk}/swap-requests/"
    if swap is not None:
        url += f"{swap if isinstance(swap, int) else swap.pk}/"
    if action:
        url += f"{action}/"
    return url


def oncall_username(api, schedule, instant):
    response = api.get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": instant})
    assert response.status_code == 200, response.content
    return [user["username"] for user in response.json()["users"]]


def webhook(user, receiver):
    method = ContactMethod.objects.create(
        user=user, kind=ContactMethod.Kind.WEBHOOK, address=f"{receiver.url}/{user.username}"
    )
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)


def send_notices():
    """What the worker does: one tick (expire, tell), then send the swap notices the tick wrote (heads-ups of
    the same shifts are another test's business)."""
    with transaction.atomic():
        ticker.tick()
    pending = Notice.objects.filter(status=Notice.Status.PENDING, kind=Notice.Kind.SWAP).values_list("pk", flat=True)
    return notices.NOTICES.send(list(pending))


def received(receiver):
    return [(request["path"].strip("/"), json.loads(request["body"])) for request in receiver.requests]


def ask(api, schedule, **changes):
    body = {"start": at(0, 12), "end": at(0, 18), "offered_to": [], "note": "Dentist"}
    body.update(changes)
    return api.post(swaps_url(schedule), body, format="json")


# --- overrides by the people on the schedule ------------------------------------------------------


def test_a_responder_hands_part_of_their_own_shift_to_a_teammate(api_for, responder, teammate, schedule):
    api = api_for(responder)
    body = {"user": teammate.pk, "start": at(0, 12), "end": at(0, 18), "reason": "Dentist"}

    response = api.post(overrides_url(schedule), body, format="json")

    assert response.status_code == 201, response.content
    override = Override.objects.get()
    assert (override.user, override.created_by) == (teammate, responder)
    assert oncall_username(api, schedule, at(0, 13)) == ["theo"]
    assert oncall_username(api, schedule, at(0, 19)) == ["rita"]


def test_a_responder_cannot_take_or_give_away_someone_elses_shift(api_for, responder, teammate, cat, schedule):
    api = api_for(responder)
    theirs = {"user": responder.pk, "start": at(1, 12), "end": at(1, 18)}
    partly = {"user": cat.pk, "start": at(0, 20), "end": at(1, 10)}

    for body in (theirs, partly):
        response = api.post(overrides_url(schedule), body, format="json")
        assert response.status_code == 403, response.content
        assert "Théo Teammate" in response.json()["detail"]
        assert "swap request" in response.json()["detail"]
    assert not Override.objects.exists()


def test_an_override_where_the_responder_is_not_on_call_or_to_a_stranger_is_a_400(
    api_for, responder, teammate, outsider, schedule
):
    api = api_for(responder)
    before_the_rotation = {"user": teammate.pk, "start": at(0, 7), "end": at(0, 8)}
    to_a_stranger = {"user": outsider.pk, "start": at(0, 12), "end": at(0, 18)}
    to_themselves = {"user": responder.pk, "start": at(0, 12), "end": at(0, 18)}
    backwards = {"user": teammate.pk, "start": at(0, 18), "end": at(0, 12)}

    assert "not on call" in api.post(overrides_url(schedule), before_the_rotation, format="json").json()["start"][0]
    assert "rotation" in api.post(overrides_url(schedule), to_a_stranger, format="json").json()["user"][0]
    assert "someone else" in api.post(overrides_url(schedule), to_themselves, format="json").json()["user"][0]
    assert api.post(overrides_url(schedule), backwards, format="json").status_code == 400
    assert not Override.objects.exists()


def test_only_people_on_the_schedule_add_overrides_and_managers_keep_every_right(
    api_for, responder, teammate, boss, manager, team, schedule
):
    stranger = UserFactory(username="sid", roles=[RESPONDERS])
    TeamMembership.objects.create(team=team, user=stranger)
    theirs = {"user": responder.pk, "start": at(1, 12), "end": at(1, 18)}

    assert api_for(stranger).post(overrides_url(schedule), theirs, format="json").status_code == 403
    assert api_for(boss).post(overrides_url(schedule), theirs, format="json").status_code == 201
    created = api_for(manager).post(overrides_url(schedule), {**theirs, "start": at(1, 10)}, format="json")
    assert created.status_code == 201
    override_url = f"{overrides_url(schedule)}{created.json()['id']}/"
    # A participant's right is to add an override of their own shift, not to change or delete others'.
    assert api_for(teammate).delete(override_url).status_code == 403
    assert api_for(manager).delete(override_url).status_code == 204


# --- swap and cover requests ----------------------------------------------------------------------


def test_an_accepted_request_makes_the_override_and_tells_both_and_the_team_manager(
    settings, http_receiver, api_for, responder, teammate, cat, boss, schedule
):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    for user in (responder, teammate, cat, boss):
        webhook(user, http_receiver)

    created = ask(api_for(responder), schedule, offered_to=[teammate.pk])
    assert created.status_code == 201, created.content
    swap = created.json()
    assert (swap["state"], swap["offered_to"], swap["requester"]) == ("open", [teammate.pk], responder.pk)
    assert send_notices() == 1
    [(path, body)] = received(http_receiver)
    assert path == "theo"
    assert body["event"] == "notice.swap"
    assert "Rita Responder asks for cover on Platform" in body["subject"]
    assert "2024-06-03 12:00" in body["text"]

    accepted = api_for(teammate).post(swaps_url(schedule, swap["id"], "accept"))

    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["state"] == "accepted"
    assert accepted.json()["taken_by"] == teammate.pk
    override = Override.objects.get()
    assert accepted.json()["override"] == override.pk
    assert (override.user, override.start, override.end) == (teammate, MONDAY.replace(hour=12), MONDAY.replace(hour=18))
    api = api_for(responder)
    assert oncall_username(api, schedule, at(0, 13)) == ["theo"]
    assert oncall_username(api, schedule, at(0, 18)) == ["rita"]
    http_receiver.requests.clear()
    assert send_notices() == 3
    told = dict(received(http_receiver))
    assert set(told) == {"rita", "theo", "bea"}
    assert "Théo Teammate takes your shift" in told["rita"]["subject"]
    assert "You cover Rita Responder" in told["theo"]["subject"]
    assert "Théo Teammate covers Rita Responder" in told["bea"]["subject"]
    # Told once: the next ticks find nothing to tell.
    assert send_notices() == 0
    assert SwapRequest.objects.get().told_state == "accepted"


def test_on_a_schedule_of_no_team_the_managers_are_told_of_an_accepted_request(
    settings, http_receiver, api_for, responder, teammate, manager, schedule
):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    schedule.team = None
    schedule.save(update_fields=["team"])
    webhook(manager, http_receiver)
    swap = ask(api_for(responder), schedule, offered_to=[teammate.pk]).json()
    assert api_for(teammate).post(swaps_url(schedule, swap["id"], "accept")).status_code == 200

    send_notices()

    [(path, body)] = received(http_receiver)
    assert path == "mona"
    assert "Théo Teammate covers Rita Responder on Platform" in body["subject"]


def test_a_request_to_the_whole_rotation_is_told_to_everyone_else_on_it(
    settings, http_receiver, api_for, responder, teammate, cat, schedule
):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    for user in (responder, teammate, cat):
        webhook(user, http_receiver)

    assert ask(api_for(responder), schedule).status_code == 201
    assert send_notices() == 2
    assert {path for path, _body in received(http_receiver)} == {"theo", "cat"}
    swap = SwapRequest.objects.get()
    assert api_for(cat).post(swaps_url(schedule, swap, "accept")).json()["taken_by"] == cat.pk


def test_when_everyone_named_declines_the_request_is_declined_and_the_requester_told(
    settings, http_receiver, api_for, responder, teammate, cat, schedule
):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    webhook(responder, http_receiver)
    swap = ask(api_for(responder), schedule, offered_to=[teammate.pk, cat.pk]).json()

    first = api_for(teammate).post(swaps_url(schedule, swap["id"], "decline"))
    assert (first.status_code, first.json()["state"], first.json()["declined_by"]) == (200, "open", [teammate.pk])
    assert api_for(responder).post(swaps_url(schedule, swap["id"], "decline")).status_code == 403
    second = api_for(cat).post(swaps_url(schedule, swap["id"], "decline"))

    assert second.json()["state"] == "declined"
    assert api_for(teammate).post(swaps_url(schedule, swap["id"], "accept")).status_code == 409
    assert not Override.objects.exists()
    send_notices()
    [(path, body)] = received(http_receiver)
    assert path == "rita"
    assert "Nobody can cover your shift" in body["subject"]


def test_the_requester_withdraws_and_the_people_offered_are_told(
    settings, http_receiver, api_for, responder, teammate, schedule
):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    webhook(teammate, http_receiver)
    swap = ask(api_for(responder), schedule, offered_to=[teammate.pk]).json()

    assert api_for(teammate).post(swaps_url(schedule, swap["id"], "withdraw")).status_code == 403
    withdrawn = api_for(responder).post(swaps_url(schedule, swap["id"], "withdraw"))

    assert withdrawn.json()["state"] == "withdrawn"
    conflict = api_for(teammate).post(swaps_url(schedule, swap["id"], "accept"))
    assert conflict.status_code == 409
    assert "withdrawn" in conflict.json()["detail"]
    send_notices()
    # Withdrawn before the first tick: the offered person hears only that it is withdrawn.
    [(path, body)] = received(http_receiver)
    assert path == "theo"
    assert "no longer needs cover" in body["subject"]


def test_a_request_expires_when_its_shift_starts(
    settings, http_receiver, frozen, api_for, responder, teammate, schedule
):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    webhook(responder, http_receiver)
    swap = ask(api_for(responder), schedule, offered_to=[teammate.pk]).json()
    send_notices()

    frozen.move_to(MONDAY.replace(hour=12))
    # Counted expired at once, before any check sets it; it can no longer be taken.
    assert api_for(responder).get(swaps_url(schedule, swap["id"])).json()["state"] == "expired"
    refused = api_for(teammate).post(swaps_url(schedule, swap["id"], "accept"))
    assert refused.status_code == 409
    assert "expired" in refused.json()["detail"]
    assert send_notices() == 1
    assert SwapRequest.objects.get().state == "expired"
    [(path, body)] = received(http_receiver)
    assert path == "rita"
    assert "expired" in body["subject"]


def test_a_second_accept_loses_and_makes_no_second_override(api_for, responder, teammate, cat, schedule):
    swap = ask(api_for(responder), schedule).json()

    assert api_for(teammate).post(swaps_url(schedule, swap["id"], "accept")).status_code == 200
    second = api_for(cat).post(swaps_url(schedule, swap["id"], "accept"))

    assert second.status_code == 409
    assert Override.objects.count() == 1
    assert SwapRequest.objects.get().taken_by == teammate


def test_only_the_people_offered_may_accept(api_for, responder, teammate, cat, boss, schedule):
    swap = ask(api_for(responder), schedule, offered_to=[teammate.pk]).json()

    for user in (cat, responder, boss):
        response = api_for(user).post(swaps_url(schedule, swap["id"], "accept"))
        assert response.status_code == 403
        assert "not offered to you" in response.json()["detail"]
    assert not Override.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"end": at(0, 11)}, "end", "after the start"),
        ({"start": at(0, 5), "end": at(0, 8)}, "start", "future"),
        ({"start": at(1, 12), "end": at(1, 14)}, "start", "Théo Teammate"),
        ({"start": at(2, 7), "end": at(2, 8)}, "start", "Théo Teammate"),
        ({"start": at(0, 7), "end": at(0, 8)}, "start", "not on call"),
        ({"offered_to": ["self"]}, "offered_to", "yourself"),
        ({"offered_to": ["stranger"]}, "offered_to", "rotation"),
        ({"offered_to": [9_999_999]}, "offered_to", "rotation"),
        ({"offered_to": [0]}, "offered_to", ""),
        ({"offered_to": "everyone"}, "offered_to", ""),
        ({"start": "tomorrow"}, "start", ""),
        ({"start": at(0, 12), "end": "2999-01-01T00:00:00Z"}, "end", "366"),
        ({"note": "x" * 1001}, "note", ""),
    ],
)
def test_bad_requests_are_400s_naming_the_field(api_for, responder, outsider, schedule, changes, field, text):
    names = {"self": responder.pk, "stranger": outsider.pk}
    if isinstance(changes.get("offered_to"), list):
        changes = {**changes, "offered_to": [names.get(pk, pk) for pk in changes["offered_to"]]}

    response = ask(api_for(responder), schedule, **changes)

    assert response.status_code == 400, response.content
    assert text in " ".join(map(str, response.json()[field]))
    assert not SwapRequest.objects.exists()


def test_the_requests_are_for_the_people_on_the_schedule_and_its_managers(
    api_for, responder, teammate, boss, manager, stakeholder, team, schedule, django_assert_max_num_queries
):
    stranger = UserFactory(username="sid", roles=[RESPONDERS])
    TeamMembership.objects.create(team=team, user=stranger)
    for hour in (10, 12, 14):
        assert ask(api_for(responder), schedule, start=at(0, hour), end=at(0, hour + 1)).status_code == 201

    for user in (teammate, boss, manager):
        api = api_for(user)
        with django_assert_max_num_queries(12):
            listed = api.get(swaps_url(schedule))
        assert listed.status_code == 200
        assert listed.json()["count"] == 3
    assert api_for(stranger).get(swaps_url(schedule)).status_code == 403
    assert "Only the people on this schedule" in api_for(stranger).get(swaps_url(schedule)).json()["detail"]
    assert api_for(stranger).post(swaps_url(schedule), {}, format="json").status_code == 403
    assert api_for(stakeholder).get(swaps_url(schedule)).status_code == 403
    assert api_for(None).get(swaps_url(schedule)).status_code == 401
    other_team = ScheduleFactory(team=Team.objects.create(name="Data", slug="data"))
    assert api_for(responder).get(swaps_url(other_team)).status_code == 404
    assert api_for(responder).get(swaps_url(schedule, 999_999)).status_code == 404


def test_a_manager_may_withdraw_but_not_ask_on_a_schedule_they_are_not_on(api_for, responder, boss, schedule):
    swap = ask(api_for(responder), schedule).json()

    assert ask(api_for(boss), schedule).status_code == 403
    assert api_for(boss).post(swaps_url(schedule, swap["id"], "withdraw")).json()["state"] == "withdrawn"


def test_a_tick_with_nothing_to_tell_or_expire_is_one_query(
    api_for, responder, schedule, django_assert_max_num_queries
):
    assert ask(api_for(responder), schedule).status_code == 201
    assert swap_notices.tick() == 2  # the two others on the rotation, by e-mail
    with django_assert_max_num_queries(1):
        assert swap_notices.tick() == 0
