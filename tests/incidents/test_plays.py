"""Plays: a fitting play runs by itself when an incident opens or changes, its tasks are copied onto the incident,
worked on the incident page, overdue ones remind someone, and resolving with required tasks open is confirmed."""

import datetime as dt
import json

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from comms.models import Delivery, StakeholderGroup
from incidents import bridge, checklist, lifecycle, plays, roles
from incidents.models import (
    Incident,
    IncidentEvent,
    IncidentRole,
    IncidentTask,
    Notification,
    Play,
    PlayRun,
    PlayTask,
    ResponderRequest,
    Status,
    TimelineEntry,
)
from people.models import ContactMethod, NotificationRule
from tests.factories import IncidentFactory, UserFactory
from worker import ticker

pytestmark = pytest.mark.django_db


def make_play(name="Major outage", *, severities=("SEV1",), incident_types=(), services=(), tasks=3, **fields):
    play = Play.objects.create(name=name, severities=list(severities), incident_types=list(incident_types), **fields)
    play.services.set(services)
    for index in range(tasks):
        PlayTask.objects.create(
            play=play,
            position=index + 1,
            title=f"Step {index + 1}",
            description="See [the runbook](https://runbooks.example.com/outage)",
            role=IncidentRole.Role.COMMANDER if index == 0 else IncidentRole.Role.COMMUNICATIONS,
            due_minutes=15 * (index + 1),
            required=index == 0,
        )
    return play


def trigger(client, integration, severity, dedup_key):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": "Checkout is down", "source": "probe", "severity": severity},
    }
    response = client.post("/v2/enqueue", body, content_type="application/json")
    assert response.status_code == 202
    return Incident.objects.get(dedup_key=dedup_key)


def test_a_sev1_play_applies_when_a_sev1_is_triggered_through_events_v2_and_not_for_a_sev3(
    client, integration, run_tasks
):
    play = make_play()
    with run_tasks():
        sev1 = trigger(client, integration, "critical", "down")
        sev3 = trigger(client, integration, "warning", "slow")
    assert sev1.severity == "SEV1" and sev3.severity == "SEV3"

    tasks = list(IncidentTask.objects.filter(incident=sev1).order_by("position"))
    assert [t.title for t in tasks] == ["Step 1", "Step 2", "Step 3"]
    assert [t.state for t in tasks] == ["open"] * 3
    assert tasks[0].required and not tasks[1].required
    run = PlayRun.objects.get(incident=sev1)
    assert tasks[0].due_at == run.ran_at + dt.timedelta(minutes=15)
    assert tasks[2].due_at == run.ran_at + dt.timedelta(minutes=45)
    entry = sev1.timeline.get(kind=TimelineEntry.Kind.PLAY, data__run=run.pk)
    assert entry.text == "Play Major outage ran automatically: 3 task(s)."
    assert not IncidentTask.objects.filter(incident=sev3).exists()
    assert not PlayRun.objects.filter(incident=sev3).exists()
    assert play.runs.count() == 1


def test_a_severity_raised_to_sev1_runs_the_play_then_and_only_once(service, responder, run_tasks):
    make_play()
    with run_tasks():
        incident = IncidentFactory(service=service, severity="SEV3")
    assert not IncidentTask.objects.filter(incident=incident).exists()
    with run_tasks():
        lifecycle.change_severity(incident, severity="SEV1", reason="checkout is down", by=responder)
    assert IncidentTask.objects.filter(incident=incident).count() == 3
    with run_tasks():
        lifecycle.change_severity(incident, severity="SEV2", reason="partly back", by=responder)
        lifecycle.change_severity(incident, severity="SEV1", reason="down again", by=responder)
    assert IncidentTask.objects.filter(incident=incident).count() == 3  # at most once automatically


def test_a_type_change_runs_the_plays_of_that_type_and_the_change_is_on_the_timeline(service, responder, run_tasks):
    make_play("Security incident", severities=(), incident_types=("security",), tasks=2)
    with run_tasks():
        incident = IncidentFactory(service=service, severity="SEV3")
    assert not IncidentTask.objects.filter(incident=incident).exists()
    with run_tasks():
        lifecycle.change_type(incident, incident_type="security", by=responder)
    incident.refresh_from_db()
    assert incident.incident_type == "security"
    assert IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.TYPE_CHANGED).exists()
    assert incident.timeline.get(kind=TimelineEntry.Kind.INCIDENT_TYPE).text == "Type changed from not set to Security"
    assert IncidentTask.objects.filter(incident=incident).count() == 2
    with pytest.raises(ValueError):
        lifecycle.change_type(incident, incident_type="aliens", by=responder)


def test_a_play_for_other_services_or_disabled_does_not_run_by_itself(service, run_tasks):
    from tests.factories import ServiceFactory

    make_play("Elsewhere", services=[ServiceFactory()])
    make_play("Off", enabled=False)
    with run_tasks():
        incident = IncidentFactory(service=service, severity="SEV1")
    assert not PlayRun.objects.filter(incident=incident).exists()


def test_running_a_play_by_hand_twice_adds_nothing_twice(service, responder):
    play = make_play(severities=())
    incident = IncidentFactory(service=service, severity="SEV4")
    run, created = plays.run(incident, play, by=responder)
    assert created and run.tasks_added == 3
    again, created = plays.run(incident, play, by=responder)
    assert not created and again.pk == run.pk
    assert IncidentTask.objects.filter(incident=incident).count() == 3
    entry = incident.timeline.get(kind=TimelineEntry.Kind.PLAY, data__run=run.pk)
    assert entry.actor == responder and entry.text == "Play Major outage ran: 3 task(s)."


def test_a_play_changed_or_deleted_after_its_run_leaves_the_incidents_tasks_as_they_were(service, responder):
    play = make_play()
    incident = IncidentFactory(service=service, severity="SEV1")
    plays.run(incident, play, by=responder)
    play.tasks.filter(position=1).update(title="Renamed", due_minutes=1)
    PlayTask.objects.create(play=play, position=9, title="New step")
    assert sorted(IncidentTask.objects.filter(incident=incident).values_list("title", flat=True)) == [
        "Step 1",
        "Step 2",
        "Step 3",
    ]
    play.delete()
    assert IncidentTask.objects.filter(incident=incident).count() == 3
    assert PlayRun.objects.get(incident=incident).play_name == "Major outage"


def test_the_roles_a_play_asks_for_are_required_of_the_incident_and_it_calls_in_its_responders_with_its_bridge(
    service, responder
):
    play = make_play(
        roles=["commander", "scribe"], bridge_url="https://meet.example.com/x", bridge_phone="+41 44 1 PIN 9"
    )
    play.responder_users.set([responder])
    incident = IncidentFactory(service=service, severity="SEV4")
    assert roles.required(incident) == []
    plays.run(incident, play, by=None)
    assert roles.required(incident) == ["commander", "scribe"]
    texts = [entry.text for entry in incident.timeline.filter(kind=TimelineEntry.Kind.PLAY)]
    assert any("Scribe" in text and "Incident commander" in text for text in texts)
    incident.refresh_from_db()
    assert (incident.bridge_url, incident.bridge_phone) == ("https://meet.example.com/x", "+41 44 1 PIN 9")
    [asked] = ResponderRequest.objects.filter(incident=incident)
    assert asked.user == responder and asked.state == ResponderRequest.State.PAGED
    assert asked.message == "Play: Major outage"
    pages = Notification.objects.filter(incident=incident, responder_request=asked)
    assert pages.exists()
    # Run again by hand: nobody is asked twice, the bridge set by a person is kept.
    bridge.set_bridge(incident, url="https://meet.example.com/ours", phone="", by=responder)
    plays.run(incident, play, by=responder)
    incident.refresh_from_db()
    assert ResponderRequest.objects.filter(incident=incident).count() == 1
    assert incident.bridge_url == "https://meet.example.com/ours"


def test_completing_assigning_and_skipping_tasks_write_timeline_entries_with_who(service, responder, teammate):
    incident = IncidentFactory(service=service)
    first = checklist.add(incident, title="Check the load balancer", by=responder)
    second = checklist.add(incident, title="Call the vendor", by=responder)
    checklist.assign(first, user=teammate, by=responder)
    checklist.complete(first, by=teammate)
    with pytest.raises(ValueError):
        checklist.skip(second, reason="  ", by=responder)
    checklist.skip(second, reason="the vendor is on holiday", by=responder)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == "done" and first.done_by == teammate and first.done_at is not None
    assert second.state == "skipped" and second.skip_reason == "the vendor is on holiday"
    entries = list(incident.timeline.filter(kind=TimelineEntry.Kind.TASK).order_by("at", "id"))
    assert [e.text for e in entries] == [
        "Task added: Check the load balancer",
        "Task added: Call the vendor",
        "Task Check the load balancer assigned to Théo Teammate",
        "Task done: Check the load balancer",
        "Task skipped: Call the vendor (the vendor is on holiday)",
    ]
    assert entries[3].actor == teammate
    with pytest.raises(lifecycle.TransitionError):
        checklist.complete(second, by=responder)


def _webhook(user, url):
    method = ContactMethod.objects.create(user=user, kind=ContactMethod.Kind.WEBHOOK, address=url)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)


def test_an_overdue_task_reminds_its_assignee_once_at_their_webhook(
    settings, service, responder, teammate, http_receiver, run_tasks
):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    _webhook(teammate, http_receiver.url + "/hook")
    play = make_play(tasks=1)
    incident = IncidentFactory(service=service, severity="SEV1")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        plays.run(incident, play, by=responder)
        task = IncidentTask.objects.get(incident=incident)
        checklist.assign(task, user=teammate, by=responder)
        with run_tasks():
            assert checklist.tick() == 0  # not due yet
        clock.shift(dt.timedelta(minutes=16))
        with run_tasks():
            ticker.tick()
            ticker.tick()
    [request] = [r for r in http_receiver.requests if r["path"] == "/hook"]
    body = json.loads(request["body"])
    assert body["event"] == "notice.task"
    assert body["subject"] == f"Incident #{incident.number}: task overdue: Step 1"
    task.refresh_from_db()
    assert task.reminded_at is not None


def test_an_unassigned_overdue_task_reminds_the_holder_of_its_role_else_the_commander(service, responder, teammate):
    incident = IncidentFactory(service=service)
    roles.assign(incident, role="commander", user=teammate, by=responder)
    roles.assign(incident, role="communications", user=responder, by=responder)
    past = timezone.now() - dt.timedelta(minutes=1)
    comms_task = checklist.add(incident, title="Tell support", role="communications", due_at=past, by=responder)
    scribe_task = checklist.add(incident, title="Take notes", role="scribe", due_at=past, by=responder)
    assert {n.user for n in checklist.remind(comms_task)} == {responder}
    assert {n.user for n in checklist.remind(scribe_task)} == {teammate}
    assert checklist.remind(scribe_task) == []  # once per task


def test_stakeholder_groups_of_a_play_are_told_once(service, run_tasks):
    member = UserFactory(email="ceo@example.com")
    group = StakeholderGroup.objects.create(name="Executives", min_severity="SEV1")
    group.members.add(member)
    play = make_play(severities=(), tasks=0)
    group.plays.add(play)
    with run_tasks():
        incident = IncidentFactory(service=service, severity="SEV4")  # SEV4 tells nobody by itself
        plays.run(incident, play, by=None)
    key = f"play:{incident.pk}:{play.pk}:{group.pk}"
    assert Delivery.objects.filter(key=key, user=member).count() == 1
    with run_tasks():
        plays.run(incident, play, by=None)
        from comms import follow

        assert follow.play_ran(incident.pk, play.pk) == []
    assert Delivery.objects.filter(key=key).count() == 1
    assert incident.timeline.filter(kind=TimelineEntry.Kind.STAKEHOLDERS, data__play=play.pk).count() == 1


def test_the_open_tasks_stay_open_when_monitoring_resolves_the_incident(client, integration, run_tasks):
    make_play()
    with run_tasks():
        incident = trigger(client, integration, "critical", "down")
    with run_tasks():
        body = {"routing_key": integration.key, "event_action": "resolve", "dedup_key": "down"}
        assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert IncidentTask.objects.filter(incident=incident, state="open").count() == 3


# --- the incident page ----------------------------------------------------------------------------


def _page(client, incident):
    return client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))


def test_the_incident_page_shows_the_checklist_first_with_due_times_and_buttons(client, service, responder):
    play = make_play()
    incident = IncidentFactory(service=service, severity="SEV1")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        plays.run(incident, play, by=responder)
        clock.shift(dt.timedelta(minutes=27))
        client.force_login(responder)
        page = _page(client, incident).content.decode()
    assert page.index('id="checklist"') < page.index('id="alert-details"') < page.index('id="timeline"')
    assert "12 min overdue" in page and "in 3 min" in page
    assert 'href="https://runbooks.example.com/outage"' in page
    assert "Incident commander" in page
    assert 'name="complete"' in page and 'name="skip"' in page


def test_the_incident_page_costs_the_same_queries_for_2_or_20_tasks(
    client, service, responder, django_assert_max_num_queries
):
    incident = IncidentFactory(service=service)
    for index in range(2):
        checklist.add(incident, title=f"Task {index}", by=responder)
    client.force_login(responder)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert _page(client, incident).status_code == 200
    for index in range(18):
        checklist.add(incident, title=f"More {index}", role="scribe", by=responder)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert _page(client, incident).status_code == 200


def test_completing_and_skipping_from_the_incident_page(client, service, responder):
    incident = IncidentFactory(service=service)
    first = checklist.add(incident, title="Roll back", by=responder)
    second = checklist.add(incident, title="Page the DBA", by=responder)
    client.force_login(responder)
    url = reverse("admin:incidents_incident_task", args=[incident.pk, first.pk, "complete"])
    assert client.post(url).status_code == 302
    url = reverse("admin:incidents_incident_task", args=[incident.pk, second.pk, "skip"])
    client.post(url, {f"task{second.pk}-reason": ""})
    second.refresh_from_db()
    assert second.state == "open"  # a skip needs a reason
    client.post(url, {f"task{second.pk}-reason": "not needed"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == "done" and second.state == "skipped"
    third = checklist.add(incident, title="Write the summary", by=responder)
    url = reverse("admin:incidents_incident_task", args=[incident.pk, third.pk, "assign"])
    client.post(url, {f"task{third.pk}-user": responder.pk})
    third.refresh_from_db()
    assert third.assignee == responder
    assert (
        client.post(reverse("admin:incidents_incident_task", args=[incident.pk, third.pk, "explode"])).status_code
        == 302
    )


def test_resolving_in_the_admin_with_required_tasks_open_asks_to_confirm(client, service, responder):
    incident = IncidentFactory(service=service)
    checklist.add(incident, title="Tell the customers", required=True, by=responder)
    client.force_login(responder)
    url = reverse("admin:incidents_incident_resolve", args=[incident.pk])
    response = client.post(url)
    assert response.status_code == 200
    assert "Tell the customers" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status != Status.RESOLVED
    assert client.post(url, {"confirm": "1"}).status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert IncidentTask.objects.get(incident=incident).state == "open"


def test_the_bulk_resolve_leaves_incidents_with_required_tasks_open_to_their_page(client, service, responder):
    held = IncidentFactory(service=service)
    free = IncidentFactory(service=service)
    checklist.add(held, title="Tell the customers", required=True, by=responder)
    client.force_login(responder)
    response = client.post(
        reverse("admin:incidents_incident_changelist"),
        {"action": "resolve_selected", "_selected_action": [held.pk, free.pk]},
        follow=True,
    )
    assert "has required tasks open: resolve it from its page" in response.content.decode()
    held.refresh_from_db()
    free.refresh_from_db()
    assert held.status != Status.RESOLVED and free.status == Status.RESOLVED


def test_running_a_play_and_changing_the_type_from_the_incident_page(client, service, responder):
    play = make_play(severities=())
    incident = IncidentFactory(service=service)
    client.force_login(responder)
    url = reverse("admin:incidents_incident_run_play", args=[incident.pk])
    client.post(url, {"play-play": play.pk})
    response = client.post(url, {"play-play": play.pk}, follow=True)
    assert "ran on this incident already: nothing was added" in response.content.decode()
    assert IncidentTask.objects.filter(incident=incident).count() == 3
    client.post(reverse("admin:incidents_incident_type", args=[incident.pk]), {"type-incident_type": "data_loss"})
    incident.refresh_from_db()
    assert incident.incident_type == "data_loss"


def test_a_stakeholder_sees_the_checklist_but_cannot_work_it(client, service, responder, stakeholder):
    incident = IncidentFactory(service=service)
    task = checklist.add(incident, title="Roll back", by=responder)
    client.force_login(stakeholder)
    page = _page(client, incident)
    assert page.status_code == 200
    assert "Roll back" in page.content.decode() and 'name="complete"' not in page.content.decode()
    url = reverse("admin:incidents_incident_task", args=[incident.pk, task.pk, "complete"])
    assert client.post(url).status_code == 403
    task.refresh_from_db()
    assert task.state == "open"


# --- the play editor --------------------------------------------------------------------------------


def _play_form(**changes):
    data = {
        "name": "Security incident",
        "team": "",
        "description": "",
        "enabled": "on",
        "severities": ["SEV1", "SEV2"],
        "incident_types": ["security"],
        "roles": ["commander", "scribe"],
        "bridge_url": "https://meet.example.com/sec",
        "bridge_phone": "",
        "tasks-TOTAL_FORMS": "2",
        "tasks-INITIAL_FORMS": "0",
        "tasks-MIN_NUM_FORMS": "0",
        "tasks-MAX_NUM_FORMS": "1000",
        "tasks-0-position": "2",
        "tasks-0-title": "Rotate the keys",
        "tasks-0-role": "commander",
        "tasks-0-due_minutes": "30",
        "tasks-0-required": "on",
        "tasks-1-position": "1",
        "tasks-1-title": "Call the security officer",
        "tasks-1-role": "",
        "tasks-1-due_minutes": "",
    }
    data.update(changes)
    return data


def test_a_manager_writes_a_play_with_checkboxes_ordered_tasks_and_stakeholder_groups(client, manager, service):
    group = StakeholderGroup.objects.create(name="Legal")
    client.force_login(manager)
    add = reverse("admin:incidents_play_add")
    page = client.get(add).content.decode()
    assert 'type="checkbox" name="severities" value="SEV1"' in page
    assert 'type="checkbox" name="roles" value="scribe"' in page
    response = client.post(add, _play_form(stakeholder_groups=[group.pk], services=[service.pk]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    play = Play.objects.get()
    assert play.severities == ["SEV1", "SEV2"] and play.incident_types == ["security"]
    assert play.roles == ["commander", "scribe"]
    assert list(play.stakeholder_groups.all()) == [group]
    assert [t.title for t in play.tasks.order_by("position")] == ["Call the security officer", "Rotate the keys"]
    changelist = client.get(reverse("admin:incidents_play_changelist")).content.decode()
    assert "Security incident" in changelist


def test_the_play_editor_refuses_a_bridge_that_is_not_http(client, manager):
    client.force_login(manager)
    response = client.post(reverse("admin:incidents_play_add"), _play_form(bridge_url="javascript:alert(1)"))
    assert response.status_code == 200
    assert "bridge_url" in response.context["adminform"].form.errors
    assert not Play.objects.exists()


def test_a_responder_reads_plays_but_cannot_change_them(client, responder):
    play = make_play()
    client.force_login(responder)
    assert client.get(reverse("admin:incidents_play_change", args=[play.pk])).status_code == 200
    client.post(reverse("admin:incidents_play_change", args=[play.pk]), _play_form())
    play.refresh_from_db()
    assert play.name == "Major outage"
    assert client.get(reverse("admin:incidents_play_add")).status_code == 403


def test_an_overdue_task_nobody_answers_for_reminds_the_people_paged(service, responder, teammate):
    from incidents.models import Page

    incident = IncidentFactory(service=service)
    Page.objects.create(incident=incident, round=0, step=0, user=teammate)
    task = checklist.add(incident, title="Check backups", due_at=timezone.now() - dt.timedelta(minutes=5), by=responder)
    assert checklist.tick() == 1
    assert {n.user for n in task.incident.notices.all()} == {teammate}
    assert checklist.tick() == 0
