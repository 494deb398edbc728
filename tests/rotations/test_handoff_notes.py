"""Handoff notes: the person on call (or next on call) writes them, in the API or the admin; others may not."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from people.models import Team, TeamMembership
from rotations.models import HandoffNote, Layer, Schedule
from tests.rotations.factories import ScheduleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_call(responder, teammate):
    """A daily schedule on which the responder is on call now and the teammate next."""
    schedule = ScheduleFactory(name="Platform")
    now = timezone.now()
    layer = Layer.objects.create(
        schedule=schedule, name="Daily", rotation_start=now - timedelta(hours=1), shift_length=1, shift_unit="days"
    )
    layer.set_participants([responder, teammate])
    return schedule


def url(schedule):
    return f"/api/v1/schedules/{schedule.pk}/handoff-notes/"


def test_the_person_on_call_writes_a_note_for_the_end_of_their_shift(api_for, responder, on_call):
    response = api_for(responder).post(url(on_call), {"text": "Replica lag alarms are noise."}, format="json")
    assert response.status_code == 201, response.json()
    note = HandoffNote.objects.get()
    assert note.user == responder and note.schedule == on_call
    assert note.shift_end == Layer.objects.get().rotation_start + timedelta(days=1)
    assert response.json()["user"]["username"] == responder.username


def test_the_next_person_may_write_for_their_coming_shift(api_for, teammate, on_call):
    assert api_for(teammate).post(url(on_call), {"text": "Back from leave."}, format="json").status_code == 201


def test_someone_without_a_shift_may_not_write(api_for, manager, on_call):
    response = api_for(manager).post(url(on_call), {"text": "Hello"}, format="json")
    assert response.status_code == 403 and "no shift" in response.json()["detail"]
    assert not HandoffNote.objects.exists()


@pytest.mark.parametrize(
    "body", [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 5001}, {"text": None}, {"text": ["a"]}, [1]]
)
def test_bad_input_is_a_400(api_for, responder, on_call, body):
    response = api_for(responder).post(url(on_call), body, format="json")
    assert response.status_code == 400
    assert not HandoffNote.objects.exists()


def test_people_read_their_own_notes_and_managers_all(api_for, responder, teammate, manager, on_call):
    api_for(responder).post(url(on_call), {"text": "Mine"}, format="json")
    api_for(teammate).post(url(on_call), {"text": "Theirs"}, format="json")
    mine = api_for(responder).get(url(on_call)).json()
    assert [n["text"] for n in mine["results"]] == ["Mine"]
    everything = api_for(manager).get(url(on_call)).json()
    assert {n["text"] for n in everything["results"]} == {"Mine", "Theirs"}


def test_another_teams_schedule_is_a_404_and_stakeholders_are_refused(api_for, responder, stakeholder, on_call):
    team = Team.objects.create(name="Other", slug="other")
    Schedule.objects.filter(pk=on_call.pk).update(team=team)
    assert api_for(responder).get(url(on_call)).status_code == 404
    assert api_for(responder).post(url(on_call), {"text": "x"}, format="json").status_code == 404
    TeamMembership.objects.create(team=team, user=responder)
    assert api_for(responder).post(url(on_call), {"text": "x"}, format="json").status_code == 201
    assert api_for(stakeholder).get(url(on_call)).status_code == 403
    assert api_for(responder).get("/api/v1/schedules/99999999999999999999999/handoff-notes/").status_code == 404


def test_the_list_reads_a_fixed_number_of_queries(api_for, responder, manager, on_call, django_assert_max_num_queries):
    for number in range(15):
        HandoffNote.objects.create(
            schedule=on_call, user=responder, shift_end=timezone.now(), text=f"n{number}", handed_to=manager
        )
    api = api_for(manager)
    with django_assert_max_num_queries(12):
        assert len(api.get(url(on_call)).json()["results"]) == 15


def test_in_the_admin_the_person_on_call_writes_and_others_get_a_form_error(responder, manager, on_call):
    client = Client()
    client.force_login(responder)
    assert client.get("/admin/rotations/handoffnote/add/").status_code == 200
    response = client.post("/admin/rotations/handoffnote/add/", {"schedule": on_call.pk, "text": "Watch the queue."})
    assert response.status_code == 302, response.content.decode()[:2000]
    note = HandoffNote.objects.get()
    assert note.user == responder and note.shift_end > timezone.now()
    listing = client.get("/admin/rotations/handoffnote/").content.decode()
    assert "Watch the queue." in listing

    other = Client()
    other.force_login(manager)
    refused = other.post("/admin/rotations/handoffnote/add/", {"schedule": on_call.pk, "text": "Hi"})
    assert refused.status_code == 200 and "no shift" in refused.content.decode()
    assert HandoffNote.objects.count() == 1


def test_a_note_is_changed_only_by_its_writer_before_the_handoff(responder, teammate, on_call):
    note = HandoffNote.objects.create(schedule=on_call, user=responder, shift_end=timezone.now(), text="x")
    other = Client()
    other.force_login(teammate)
    assert other.get(f"/admin/rotations/handoffnote/{note.pk}/change/").status_code in (302, 403, 404)
    mine = Client()
    mine.force_login(responder)
    page = mine.get(f"/admin/rotations/handoffnote/{note.pk}/change/")
    assert page.status_code == 200 and 'name="text"' in page.content.decode()
    HandoffNote.objects.filter(pk=note.pk).update(handed_over_at=timezone.now(), handed_to=teammate)
    page = mine.get(f"/admin/rotations/handoffnote/{note.pk}/change/")
    assert 'name="text"' not in page.content.decode()  # handed over: read only


def test_the_schedule_page_links_to_writing_a_note_with_the_schedule_chosen(responder, on_call):
    client = Client()
    client.force_login(responder)
    page = client.get(f"/admin/rotations/schedule/{on_call.pk}/change/").content.decode()
    assert f"/admin/rotations/handoffnote/add/?schedule={on_call.pk}" in page
    form = client.get(f"/admin/rotations/handoffnote/add/?schedule={on_call.pk}").content.decode()
    assert f'<option value="{on_call.pk}" selected>' in form
