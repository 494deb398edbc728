"""Trading shifts in the admin, as a Responder: "override my shift", "ask for cover", the answer buttons."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from people.models import Team, TeamMembership
from project.roles import RESPONDERS
from rotations.models import Override, SwapRequest
from tests.factories import UserFactory
from tests.rotations.factories import LayerFactory, ScheduleFactory

ZURICH = ZoneInfo("Europe/Zurich")
MONDAY = datetime(2024, 6, 3, 9, 0, tzinfo=ZURICH)  # rita's day; Tuesday is theo's
NOW = MONDAY - timedelta(hours=3)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def team(db):
    return Team.objects.create(name="Platform", slug="platform")


@pytest.fixture
def schedule(team, responder, teammate):
    for user in (responder, teammate):
        TeamMembership.objects.create(team=team, user=user)
    schedule = ScheduleFactory(name="Platform", team=team, time_zone="Europe/Zurich")
    LayerFactory(
        schedule=schedule, name="Primary", rotation_start=MONDAY, shift_unit="days", participants=[responder, teammate]
    )
    return schedule


def login(client, user):
    client.force_login(user)
    return client


def split(instant):
    local = instant.astimezone(ZURICH)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def span(start, end):
    (d0, t0), (d1, t1) = split(start), split(end)
    return {"start_0": d0, "start_1": t0, "end_0": d1, "end_1": t1}


def test_a_responder_overrides_their_own_shift_from_the_schedule_page(client, responder, teammate, schedule):
    login(client, responder)
    page = client.get(reverse("admin:rotations_schedule_change", args=[schedule.pk]))
    mine_url = reverse("admin:rotations_schedule_override_mine", args=[schedule.pk])
    assert page.status_code == 200
    assert mine_url in page.content.decode()

    form = client.get(mine_url)
    assert form.status_code == 200
    assert list(form.context["form"].fields["user"].queryset) == [teammate]
    response = client.post(
        mine_url,
        {"user": teammate.pk, "reason": "Dentist", **span(MONDAY.replace(hour=12), MONDAY.replace(hour=18))},
    )

    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    override = Override.objects.get()
    assert (override.user, override.created_by, override.reason) == (teammate, responder, "Dentist")


def test_the_form_refuses_someone_elses_shift_and_a_time_nobody_is_on_call(client, responder, teammate, schedule):
    login(client, responder)
    mine_url = reverse("admin:rotations_schedule_override_mine", args=[schedule.pk])
    tuesday = MONDAY + timedelta(days=1)

    theirs = client.post(mine_url, {"user": teammate.pk, **span(tuesday.replace(hour=12), tuesday.replace(hour=13))})
    early = client.post(mine_url, {"user": teammate.pk, **span(MONDAY.replace(hour=7), MONDAY.replace(hour=8))})

    assert "Théo Teammate" in str(theirs.context["form"].non_field_errors())
    assert "not on call" in str(early.context["form"].errors)
    assert not Override.objects.exists()


def test_someone_not_on_the_schedule_gets_no_override_form(client, team, schedule):
    stranger = UserFactory(username="sid", roles=[RESPONDERS])
    TeamMembership.objects.create(team=team, user=stranger)
    login(client, stranger)

    page = client.get(reverse("admin:rotations_schedule_change", args=[schedule.pk]))
    assert page.status_code == 200
    assert "override-my-shift" not in page.content.decode()
    assert client.get(reverse("admin:rotations_schedule_override_mine", args=[schedule.pk])).status_code == 403
    assert client.get(reverse("admin:rotations_swaprequest_add")).status_code == 403


def test_ask_for_cover_then_the_teammate_accepts_with_the_button(client, responder, teammate, schedule):
    login(client, responder)
    add_url = reverse("admin:rotations_swaprequest_add")
    form = client.get(add_url, {"schedule": schedule.pk})
    assert list(form.context["form"].fields["schedule"].queryset) == [schedule]
    assert list(form.context["form"].fields["offered_to"].queryset) == [teammate]

    asked = client.post(
        add_url,
        {
            "schedule": schedule.pk,
            "offered_to": [teammate.pk],
            "note": "Dentist",
            **span(MONDAY.replace(hour=12), MONDAY.replace(hour=18)),
        },
    )

    assert asked.status_code == 302, asked.context["form"].errors if asked.context else ""
    swap = SwapRequest.objects.get()
    change_url = reverse("admin:rotations_swaprequest_change", args=[swap.pk])
    accept_url = reverse("admin:rotations_swaprequest_answer", args=[swap.pk, "accept"])
    withdraw_url = reverse("admin:rotations_swaprequest_answer", args=[swap.pk, "withdraw"])
    mine = client.get(change_url).content.decode()
    assert withdraw_url in mine
    assert accept_url not in mine
    # The requester cannot take their own request, even by posting the button's form.
    client.post(accept_url)
    assert SwapRequest.objects.get().state == "open"

    login(client, teammate)
    page = client.get(change_url).content.decode()
    assert accept_url in page
    assert withdraw_url not in page
    client.post(accept_url)

    swap.refresh_from_db()
    assert swap.state == "accepted"
    assert swap.override.user == teammate
    assert accept_url not in client.get(change_url).content.decode()


def test_the_ask_form_shows_the_rules_as_form_errors(client, responder, teammate, schedule):
    login(client, responder)
    tuesday = MONDAY + timedelta(days=1)

    response = client.post(
        reverse("admin:rotations_swaprequest_add"),
        {"schedule": schedule.pk, **span(tuesday.replace(hour=12), tuesday.replace(hour=13))},
    )

    assert response.status_code == 200
    assert "Théo Teammate" in str(response.context["form"].errors["start"])
    assert not SwapRequest.objects.exists()


def test_the_list_filters_by_state_shows_only_my_schedules_and_needs_few_queries(
    client, responder, teammate, schedule, django_assert_max_num_queries
):
    for hour in (10, 12, 14):
        SwapRequest.objects.create(
            schedule=schedule, requester=responder, start=MONDAY.replace(hour=hour), end=MONDAY.replace(hour=hour + 1)
        ).offered_to.set([teammate])
    SwapRequest.objects.filter(start=MONDAY.replace(hour=14)).update(state="withdrawn")
    elsewhere = ScheduleFactory(name="Data", team=Team.objects.create(name="Data", slug="data"))
    other = UserFactory(username="otto")
    LayerFactory(schedule=elsewhere, participants=[other])
    SwapRequest.objects.create(schedule=elsewhere, requester=other, start=MONDAY, end=MONDAY + timedelta(hours=1))
    login(client, teammate)
    url = reverse("admin:rotations_swaprequest_changelist")

    with django_assert_max_num_queries(18):
        listed = client.get(url)
    opened = client.get(url, {"state__exact": "open"})

    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 3
    assert opened.context["cl"].result_count == 2
    assert "Rita Responder" not in client.get(url, {"q": "otto"}).content.decode()
