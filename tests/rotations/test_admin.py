"""The schedule pages in the admin: inlines, the timeline, gaps, change-from, the index."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from rotations import oncall
from rotations.models import Layer, Override, Schedule
from tests.factories import UserFactory
from tests.rotations.factories import LayerFactory, OverrideFactory, ScheduleFactory

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2024, 6, 5, 12, 0, tzinfo=ZURICH)  # a Wednesday
MONDAY = datetime(2024, 6, 3, 9, 0, tzinfo=ZURICH)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def schedule(db):
    return ScheduleFactory(name="Platform", time_zone="Europe/Zurich")


def change_url(schedule):
    return reverse("admin:rotations_schedule_change", args=[schedule.pk])


def management_form(prefix, total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_schedule_page_shows_timeline_rows_now_and_next(admin_client_for, manager, schedule, people):
    LayerFactory(schedule=schedule, name="Primary", rotation_start=MONDAY, shift_unit="days", participants=people[:2])
    LayerFactory(
        schedule=schedule,
        name="Office hours",
        priority=5,
        rotation_start=MONDAY,
        participants=people[2:3],
        restrictions=[{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
    )

    response = admin_client_for(manager).get(change_url(schedule))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="row layer-row"') == 2
    assert 'class="row final-row"' in html
    context = response.context["timeline"]
    assert context["now"].user.username == "cat"  # Office hours masks Primary on Wednesday noon
    assert context["now"].end == datetime(2024, 6, 5, 17, 0, tzinfo=ZURICH)
    assert context["next"].user.username == "ann"  # Wednesday is shift 2 of Primary: ann
    assert context["next"].start == datetime(2024, 6, 5, 17, 0, tzinfo=ZURICH)
    assert "Wed 05 Jun 17:00" in html  # the handoff, in the viewer's zone
    assert len(context["ticks"]) == 14
    assert not context["gaps"]
    assert "coverage gap" not in html.lower()


def test_schedule_page_flags_gaps_in_the_next_14_days(admin_client_for, manager, schedule, people):
    LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1], ends_at=NOW + timedelta(days=3))

    response = admin_client_for(manager).get(change_url(schedule))

    html = response.content.decode()
    assert "1 coverage gaps" not in html
    assert "Coverage gap in the next 14 days" in html
    assert 'class="bar gap"' in html
    gap = response.context["timeline"]["gaps"][0]
    assert (gap.start, gap.end) == (NOW + timedelta(days=3), NOW + timedelta(days=14))


def test_changelist_shows_who_is_on_call_and_flags_gaps(admin_client_for, manager, people):
    covered = ScheduleFactory(name="Covered")
    LayerFactory(schedule=covered, rotation_start=MONDAY, participants=people[:1])
    holey = ScheduleFactory(name="Holey")
    LayerFactory(
        schedule=holey,
        rotation_start=MONDAY,
        participants=people[1:2],
        restrictions=[{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}],
    )

    response = admin_client_for(manager).get(reverse("admin:rotations_schedule_changelist"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ann Oncall" in html and "Ben Oncall" in html
    assert "covered" in html
    assert "⚠ 10 gaps" in html


def test_viewer_time_zone_is_used_for_handoff_times(admin_client_for, manager, schedule, people, settings):
    LayerFactory(schedule=schedule, rotation_start=MONDAY, shift_unit="days", participants=people[:2])
    settings.TIME_ZONE = "America/Chicago"

    html = admin_client_for(manager).get(change_url(schedule)).content.decode()

    assert "Thu 06 Jun 02:00" in html  # 09:00 in Zurich
    assert "America/Chicago" in html


def test_layers_and_overrides_are_edited_inline_with_participants_in_order(admin_client_for, manager, schedule, people):
    ann, ben, _cat, dan = people
    data = {
        "name": "Platform",
        "description": "",
        "time_zone": "Europe/Zurich",
        **management_form("layers", total=1),
        "layers-0-name": "Primary",
        "layers-0-priority": "0",
        "layers-0-rotation_start_0": "2024-06-03",
        "layers-0-rotation_start_1": "09:00:00",
        "layers-0-shift_length": "1",
        "layers-0-shift_unit": "days",
        "layers-0-participants": [str(ben.pk), str(ann.pk), str(ben.pk)],
        **management_form("overrides", total=1),
        "overrides-0-user": str(dan.pk),
        "overrides-0-start_0": "2024-06-06",
        "overrides-0-start_1": "10:00:00",
        "overrides-0-end_0": "2024-06-06",
        "overrides-0-end_1": "12:00:00",
        "overrides-0-reason": "Dentist swap",
    }

    response = admin_client_for(manager).post(change_url(schedule), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    layer = Layer.objects.get()
    assert layer.participant_ids() == [ben.pk, ann.pk, ben.pk]
    assert layer.starts_at == MONDAY
    override = Override.objects.get()
    assert (override.user, override.created_by, override.reason) == (dan, manager, "Dentist swap")
    assert [u.username for u in oncall.users_on_call(schedule, datetime(2024, 6, 6, 11, tzinfo=ZURICH))] == ["dan"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layers-0-participants": ["999999"]}, "Row 1: that person is unknown or no longer active."),
        ({"layers-0-restrictions_first": "xyz", "layers-0-restrictions_start": "09:00"}, "choose weekdays"),
        (
            {"layers-0-restrictions_first": "mon", "layers-0-restrictions_start": "9"},
            "Row 1: &#x27;9&#x27; is not a time",
        ),
        ({"layers-0-shift_length": "0"}, "greater than or equal to 1"),
        ({"time_zone": "Moon/Base"}, "Unknown time zone"),
        ({"layers-0-ends_at_0": "2024-06-01", "layers-0-ends_at_1": "00:00:00"}, "The end must be after the start."),
    ],
)
def test_bad_layer_settings_are_form_errors(admin_client_for, manager, schedule, people, changes, message):
    data = {
        "name": "Platform",
        "description": "",
        "time_zone": "Europe/Zurich",
        **management_form("layers", total=1),
        "layers-0-name": "Primary",
        "layers-0-priority": "0",
        "layers-0-rotation_start_0": "2024-06-03",
        "layers-0-rotation_start_1": "09:00:00",
        "layers-0-shift_length": "1",
        "layers-0-shift_unit": "days",
        "layers-0-participants": [str(people[0].pk)],
        **management_form("overrides"),
        **changes,
    }

    response = admin_client_for(manager).post(change_url(schedule), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Layer.objects.exists()


def test_override_ending_before_it_starts_is_a_form_error(admin_client_for, manager, schedule, people):
    data = {
        "name": "Platform",
        "description": "",
        "time_zone": "Europe/Zurich",
        **management_form("layers"),
        **management_form("overrides", total=1),
        "overrides-0-user": str(people[0].pk),
        "overrides-0-start_0": "2024-06-06",
        "overrides-0-start_1": "10:00:00",
        "overrides-0-end_0": "2024-06-06",
        "overrides-0-end_1": "09:00:00",
    }

    response = admin_client_for(manager).post(change_url(schedule), data)

    assert response.status_code == 200
    assert "The end must be after the start." in response.content.decode()
    assert not Override.objects.exists()


def test_change_from_ends_the_layer_and_continues_it_on_the_same_grid(admin_client_for, manager, schedule, people):
    ann, ben, cat, dan = people
    layer = LayerFactory(
        schedule=schedule, name="Primary", rotation_start=MONDAY, shift_unit="days", participants=[ann, ben]
    )
    before = oncall.shifts(schedule, MONDAY, datetime(2024, 6, 7, 9, tzinfo=ZURICH))
    url = reverse("admin:rotations_layer_change_from", args=[layer.pk])

    form = admin_client_for(manager).get(url)
    response = admin_client_for(manager).post(
        url,
        {
            "at_0": "2024-06-07",
            "at_1": "09:00:00",
            "name": "Primary (new team)",
            "priority": "0",
            "shift_length": "1",
            "shift_unit": "days",
            "participants": [str(cat.pk), str(dan.pk)],
        },
    )

    assert form.status_code == 200
    assert form.context["form"].initial["participants"] == [ann, ben]
    assert response.status_code == 302
    layer.refresh_from_db()
    new = Layer.objects.exclude(pk=layer.pk).get()
    change_at = datetime(2024, 6, 7, 9, tzinfo=ZURICH)
    assert layer.ends_at == change_at
    assert (new.starts_at, new.ends_at, new.rotation_start) == (change_at, None, MONDAY)
    assert new.participant_ids() == [cat.pk, dan.pk]
    schedule = Schedule.objects.get(pk=schedule.pk)
    assert oncall.shifts(schedule, MONDAY, change_at) == before  # history unchanged
    # Friday 7 June is shift 4 of the grid: participant 4 mod 2 = cat.
    assert [u.username for u in oncall.users_on_call(schedule, change_at)] == ["cat"]
    assert LogEntry.objects.filter(object_id=str(new.pk)).exists()


def test_change_from_before_the_layer_starts_is_a_form_error(admin_client_for, manager, schedule, people):
    layer = LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1])

    response = admin_client_for(manager).post(
        reverse("admin:rotations_layer_change_from", args=[layer.pk]),
        {
            "at_0": "2024-06-01",
            "at_1": "09:00:00",
            "name": "x",
            "priority": "0",
            "shift_length": "1",
            "shift_unit": "days",
            "participants": [str(people[0].pk)],
        },
    )

    assert response.status_code == 200
    assert "Choose an instant after the layer starts" in response.content.decode()
    assert Layer.objects.count() == 1


def test_change_from_needs_the_right_to_change_layers(admin_client_for, responder, schedule, people):
    layer = LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=people[:1])

    response = admin_client_for(responder).get(reverse("admin:rotations_layer_change_from", args=[layer.pk]))

    assert response.status_code == 403


def test_layer_page_lists_participants_in_order_and_links_change_from(admin_client_for, manager, schedule, people):
    layer = LayerFactory(schedule=schedule, rotation_start=MONDAY, participants=[people[1], people[0], people[1]])

    response = admin_client_for(manager).get(reverse("admin:rotations_layer_change", args=[layer.pk]))
    changelist = admin_client_for(manager).get(reverse("admin:rotations_layer_changelist"))

    assert response.status_code == 200
    assert reverse("admin:rotations_layer_change_from", args=[layer.pk]) in response.content.decode()
    assert response.context["adminform"].form.initial["participants"] == [people[1], people[0], people[1]]
    assert "ben, ann, ben" in changelist.content.decode()


def test_admin_index_shows_who_is_on_call_now_for_every_schedule(admin_client_for, responder, people):
    first = ScheduleFactory(name="Alpha")
    LayerFactory(schedule=first, rotation_start=MONDAY, participants=people[:1])
    ScheduleFactory(name="Beta")

    response = admin_client_for(responder).get(reverse("admin:index"))

    html = response.content.decode()
    assert 'id="piquet-oncall-now"' in html
    section = html.split('id="piquet-oncall-now"')[1]
    assert section.index("Alpha") < section.index("Ann Oncall") < section.index("Beta") < section.index("nobody")


def test_admin_index_hides_on_call_from_users_without_the_right(admin_client_for, schedule):
    staff_without_role = UserFactory(username="intern", is_staff=True)

    response = admin_client_for(staff_without_role).get(reverse("admin:index"))

    assert response.status_code == 200
    assert 'id="piquet-oncall-now"' not in response.content.decode()


def test_override_admin_records_its_creator(admin_client_for, manager, schedule, people):
    response = admin_client_for(manager).post(
        reverse("admin:rotations_override_add"),
        {
            "schedule": schedule.pk,
            "user": people[0].pk,
            "start_0": "2024-06-06",
            "start_1": "10:00:00",
            "end_0": "2024-06-06",
            "end_1": "12:00:00",
            "reason": "Cover",
        },
    )

    assert response.status_code == 302
    assert Override.objects.get().created_by == manager


def test_overrides_are_listed_in_the_changelist(admin_client_for, manager, schedule, people):
    OverrideFactory(
        schedule=schedule, user=people[0], start=datetime(2024, 6, 6, tzinfo=UTC), end=datetime(2024, 6, 7, tzinfo=UTC)
    )

    response = admin_client_for(manager).get(reverse("admin:rotations_override_changelist"))

    assert response.status_code == 200
    assert "Platform" in response.content.decode()
