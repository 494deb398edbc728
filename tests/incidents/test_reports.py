"""Reports through the API: incident figures, on-call load, scoping, bad input, CSV, constant queries."""

import csv
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from incidents import lifecycle, links
from incidents.models import AckChannel, Page, Severity, Urgency
from people.models import ContactMethod, Profile, Team, TeamMembership
from rotations.models import EscalationPolicy, EscalationStep, Layer
from tests.factories import IncidentFactory, ServiceFactory, UserFactory
from tests.incidents.test_acknowledge_anywhere import twilio_post
from tests.rotations.factories import LayerFactory, OverrideFactory, ScheduleFactory

ZURICH = ZoneInfo("Europe/Zurich")
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
INCIDENTS = "/api/v1/reports/incidents/"
LOAD = "/api/v1/reports/oncall-load/"
PERIOD = {"start": "2026-10-01", "end": "2026-11-30"}


def incident_at(at, service, **fields):
    with time_machine.travel(at, tick=False):
        return IncidentFactory(service=service, **fields)


def acknowledge_at(incident, at, **kwargs):
    with time_machine.travel(at, tick=False):
        return lifecycle.acknowledge(incident, **kwargs)


def resolve_at(incident, at):
    with time_machine.travel(at, tick=False):
        return lifecycle.resolve(incident)


def page(incident, user, at, *, step=0, round=0):
    return Page.objects.create(incident=incident, user=user, step=step, round=round, created_at=at)


def in_zone(user, zone):
    Profile.objects.create(user=user, time_zone=zone)
    return user


@pytest.fixture
def frozen():
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), tick=False):
        yield


def test_median_and_p90_of_acknowledge_and_resolve_times_by_linear_interpolation(api_for, responder, service):
    delays = [60, 120, 300, 600]
    for n, delay in enumerate(delays):
        incident = incident_at(T0 + timedelta(hours=n), service)
        acknowledge_at(incident, T0 + timedelta(hours=n, seconds=delay))
        resolve_at(incident, T0 + timedelta(hours=n, seconds=2 * delay))
    unacknowledged = incident_at(T0 + timedelta(hours=9), service)  # neither acknowledged nor resolved
    assert unacknowledged.acknowledged_at is None

    data = api_for(responder).get(INCIDENTS, PERIOD).json()

    assert data["count"] == 5
    # linear interpolation: rank (n - 1) * p; median of 60, 120, 300, 600 is 210, p90 is 300 + 0.7 * 300
    assert data["time_to_acknowledge"] == {"median": 210.0, "p90": 510.0}
    assert data["time_to_resolve"] == {"median": 420.0, "p90": 1020.0}


def test_no_incidents_give_null_times_and_zero_counts(api_for, responder, service):
    data = api_for(responder).get(INCIDENTS, PERIOD).json()

    assert data["count"] == 0
    assert data["time_to_acknowledge"] == {"median": None, "p90": None}
    assert data["time_to_resolve"] == {"median": None, "p90": None}
    assert data["by_severity"] == {"SEV1": 0, "SEV2": 0, "SEV3": 0, "SEV4": 0}
    assert data["pages_by_person"] == []


def test_the_first_acknowledgement_counts_and_its_channel(api_for, responder, service):
    policy = EscalationPolicy.objects.create(name="Website")
    EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5).users.add(responder)
    service.escalation_policy = policy
    service.save()
    incident = incident_at(T0, service)
    acknowledge_at(incident, T0 + timedelta(seconds=90), by=responder, channel=AckChannel.SMS)
    with time_machine.travel(T0 + timedelta(seconds=200), tick=False):
        lifecycle.escalate(incident, by=responder)  # back to triggered: help is asked for
    acknowledge_at(incident, T0 + timedelta(seconds=900), by=responder, channel=AckChannel.API)

    data = api_for(responder).get(INCIDENTS, PERIOD).json()

    assert data["time_to_acknowledge"] == {"median": 90.0, "p90": 90.0}
    assert data["acks_by_channel"] == {"sms": 1}


def test_acknowledgements_by_channel_through_the_real_paths(api_for, responder, manager, client, service):
    by_api = incident_at(T0, service)
    by_admin = incident_at(T0 + timedelta(minutes=1), service)
    older = incident_at(T0 + timedelta(minutes=2), service)
    assert api_for(responder).post(f"/api/v1/incidents/{by_api.pk}/acknowledge/").status_code == 200
    client.force_login(manager)
    assert client.post(f"/admin/incidents/incident/{by_admin.pk}/acknowledge/").status_code == 302
    lifecycle.acknowledge(older, by=responder)  # as before channels were recorded

    data = api_for(responder).get(INCIDENTS, PERIOD).json()

    assert data["acks_by_channel"] == {"api": 1, "admin": 1, "unknown": 1}


def test_link_and_monitoring_acknowledgements_record_their_channel(api_for, responder, client, integration):
    by_link = incident_at(T0, integration.service)
    assert client.post(links.ack_url(by_link, responder).removeprefix(settings.PIQUET_BASE_URL)).status_code == 200
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        body = {"routing_key": integration.key, "event_action": "trigger", "dedup_key": "disk"}
        body["payload"] = {"summary": "Disk full", "source": "db1", "severity": "critical"}
        assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    body = {"routing_key": integration.key, "event_action": "acknowledge", "dedup_key": "disk"}
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202

    data = api_for(responder).get(INCIDENTS, PERIOD).json()

    assert data["acks_by_channel"] == {"link": 1, "integration": 1}


def test_sms_and_voice_acknowledgements_record_their_channel(api_for, responder, client, service, settings):
    ContactMethod.objects.create(user=responder, kind="sms", address="+41791234567")
    by_sms = incident_at(T0, service)
    by_voice = incident_at(T0 + timedelta(minutes=1), service)
    reply = {"From": "+41791234567", "Body": f"ACK {by_sms.number}"}
    assert "acknowledged" in twilio_post(client, "/api/v1/twilio/messages/", reply, settings).content.decode()
    call = urlsplit(links.voice_url(by_voice, responder)).path
    assert "acknowledged" in twilio_post(client, call, {"CallSid": "CA1", "Digits": "1"}, settings).content.decode()

    data = api_for(responder).get(INCIDENTS, PERIOD).json()

    assert data["acks_by_channel"] == {"sms": 1, "voice": 1}


def test_counts_by_severity_and_urgency(api_for, responder, service):
    incident_at(T0, service, severity=Severity.SEV1)
    incident_at(T0 + timedelta(minutes=1), service, severity=Severity.SEV1)
    incident_at(T0 + timedelta(minutes=2), service, severity=Severity.SEV4)
    incident_at(datetime(2026, 9, 1, tzinfo=UTC), service, severity=Severity.SEV2)  # before the period

    data = api_for(responder).get(INCIDENTS, PERIOD).json()

    assert data["count"] == 3
    assert data["by_severity"] == {"SEV1": 2, "SEV2": 0, "SEV3": 0, "SEV4": 1}
    assert data["by_urgency"] == {Urgency.HIGH: 2, Urgency.LOW: 1}


def test_off_hours_and_sleep_on_each_persons_clock_across_dst_changes(api_for, responder, service):
    zurich = in_zone(UserFactory(username="zoe"), "Europe/Zurich")
    york = in_zone(UserFactory(username="nick"), "America/New_York")
    incident = incident_at(datetime(2026, 10, 20, tzinfo=UTC), service)
    # Zurich leaves summer time on Sunday 2026-10-25 (UTC+2 → UTC+1).
    for at in [
        datetime(2026, 10, 23, 5, 30, tzinfo=UTC),  # Fri 07:30 CEST: off-hours, awake
        datetime(2026, 10, 23, 18, 30, tzinfo=UTC),  # Fri 20:30 CEST: off-hours
        datetime(2026, 10, 24, 12, 0, tzinfo=UTC),  # Sat 14:00: the weekend is off-hours
        datetime(2026, 10, 26, 5, 30, tzinfo=UTC),  # Mon 06:30 CET: asleep (07:30 on summer time)
        datetime(2026, 10, 26, 6, 30, tzinfo=UTC),  # Mon 07:30 CET: off-hours (08:30 on summer time)
        datetime(2026, 10, 26, 7, 30, tzinfo=UTC),  # Mon 08:30 CET: working hours
    ]:
        page(incident, zurich, at, step=len(Page.objects.filter(user=zurich)))
    # New York leaves summer time on Sunday 2026-11-01 (UTC-4 → UTC-5).
    for at in [
        datetime(2026, 10, 30, 11, 30, tzinfo=UTC),  # Fri 07:30 EDT: off-hours
        datetime(2026, 11, 2, 12, 30, tzinfo=UTC),  # Mon 07:30 EST: off-hours (08:30 on summer time)
        datetime(2026, 11, 2, 13, 30, tzinfo=UTC),  # Mon 08:30 EST: working hours
        datetime(2026, 11, 2, 2, 30, tzinfo=UTC),  # Sun 21:30 EST: weekend, awake (22:30 on summer time)
        datetime(2026, 11, 2, 4, 30, tzinfo=UTC),  # Sun 23:30 EST: weekend and asleep
    ]:
        page(incident, york, at, step=len(Page.objects.filter(user=york)))

    data = api_for(responder).get(INCIDENTS, PERIOD).json()

    people = {row["user"]["username"]: row for row in data["pages_by_person"]}
    assert people["zoe"] == {
        "user": {"id": zurich.pk, "username": "zoe", "name": zurich.get_full_name()},
        "pages": 6,
        "off_hours_pages": 5,
        "sleep_interruptions": 1,
    }
    assert (people["nick"]["pages"], people["nick"]["off_hours_pages"], people["nick"]["sleep_interruptions"]) == (
        5,
        4,
        1,
    )
    assert (data["pages"], data["off_hours_pages"], data["sleep_interruptions"]) == (11, 9, 2)
    assert data["escalated_beyond_first_step"] == 1


def test_escalated_beyond_the_first_step_counts_later_steps_and_rounds(api_for, responder, service):
    first_only = incident_at(T0, service)
    second_step = incident_at(T0 + timedelta(minutes=1), service)
    second_round = incident_at(T0 + timedelta(minutes=2), service)
    page(first_only, responder, T0)
    page(second_step, responder, T0, step=0)
    page(second_step, responder, T0 + timedelta(minutes=5), step=1)
    page(second_round, responder, T0 + timedelta(minutes=9), step=0, round=1)

    data = api_for(responder).get(INCIDENTS, PERIOD).json()

    assert data["escalated_beyond_first_step"] == 2


@pytest.fixture
def rotation(db):
    """A daily Zurich rotation handing off at 08:00 local: Ada, then Ben."""
    ada, ben = UserFactory(username="ada"), UserFactory(username="ben")
    schedule = ScheduleFactory(name="Platform", time_zone="Europe/Zurich")
    LayerFactory(
        schedule=schedule,
        rotation_start=datetime(2026, 10, 19, 8, 0, tzinfo=ZURICH),  # Monday: Ada; Saturday 24th: Ben
        shift_unit=Layer.Unit.DAYS,
        participants=[ada, ben],
    )
    return schedule, ada, ben


def test_oncall_seconds_over_a_dst_change_the_daily_shift_lasts_25_hours(api_for, responder, rotation):
    schedule, _ada, _ben = rotation
    carl = UserFactory(username="carl")
    OverrideFactory(
        schedule=schedule,
        user=carl,
        start=datetime(2026, 10, 25, 10, 0, tzinfo=ZURICH),
        end=datetime(2026, 10, 25, 12, 0, tzinfo=ZURICH),
    )

    response = api_for(responder).get(
        LOAD, {"schedule": schedule.pk, "start": "2026-10-24T08:00:00+02:00", "end": "2026-10-26T08:00:00+01:00"}
    )

    assert response.status_code == 200, response.content
    data = response.json()
    rows = {row["user"]["username"]: row["oncall_seconds"] for row in data["rows"]}
    # Ben: Sat 08:00 CEST → Sun 08:00 CET is 25 hours; Ada: Sun 08:00 → Mon 08:00 is 24, less Carl's 2.
    assert rows == {"ben": 25 * 3600, "ada": 22 * 3600, "carl": 2 * 3600}
    assert [row["user"]["username"] for row in data["rows"]] == ["ben", "ada", "carl"]
    assert data["spread"]["max_min_ratio"] == 12.5
    assert data["spread"]["coefficient_of_variation"] == 0.625  # population standard deviation / mean
    assert data["start"] == "2026-10-24T08:00:00+02:00"  # in the installation's zone, as the API writes


def test_oncall_load_counts_each_persons_pages_and_keeps_participants_without_shifts(
    api_for, responder, rotation, service
):
    _schedule, ada, _ben = rotation
    in_zone(ada, "Europe/Zurich")
    incident = incident_at(datetime(2026, 10, 20, tzinfo=UTC), service)
    page(incident, ada, datetime(2026, 10, 21, 22, 30, tzinfo=UTC))  # Thu 00:30: asleep
    page(incident, ada, datetime(2026, 10, 21, 10, 0, tzinfo=UTC), step=1)  # Wed 12:00: working hours

    data = api_for(responder).get(LOAD, {"start": "2026-10-21T09:00:00+02:00", "end": "2026-10-22"}).json()

    rows = {row["user"]["username"]: row for row in data["rows"]}
    assert rows["ada"]["pages"] == 2
    assert rows["ada"]["off_hours_pages"] == 1
    assert rows["ada"]["sleep_interruptions"] == 1
    # Monday Ada, Tuesday Ben, Wednesday Ada, Thursday Ben, from 08:00 each.
    assert rows["ada"]["oncall_seconds"] == 23 * 3600  # Wed 09:00 → Thu 08:00
    assert rows["ben"]["oncall_seconds"] == 16 * 3600  # Thu 08:00 → Fri 00:00
    assert data["spread"]["max_min_ratio"] == pytest.approx(23 / 16, abs=0.001)


@pytest.fixture
def teams(db, responder):
    ours, theirs = Team.objects.create(name="Web", slug="web"), Team.objects.create(name="Data", slug="data")
    TeamMembership.objects.create(team=ours, user=responder)
    return ours, theirs


def test_another_teams_service_is_not_counted_and_answers_404(api_for, responder, teams):
    ours, theirs = teams
    mine = ServiceFactory(slug="shop", team=ours)
    hidden = ServiceFactory(slug="warehouse", team=theirs)
    incident_at(T0, mine)
    incident_at(T0, hidden)
    incident_at(T0 + timedelta(minutes=1), hidden)
    client = api_for(responder)

    assert client.get(INCIDENTS, PERIOD).json()["count"] == 1
    assert client.get(INCIDENTS, {**PERIOD, "team": ours.pk}).json()["count"] == 1
    assert client.get(INCIDENTS, {**PERIOD, "service": "shop"}).json()["count"] == 1
    assert client.get(INCIDENTS, {**PERIOD, "service": mine.pk}).json()["count"] == 1
    for params in ({"service": "warehouse"}, {"service": hidden.pk}, {"team": theirs.pk}, {"team": 999999}):
        response = client.get(INCIDENTS, {**PERIOD, **params})
        assert response.status_code == 404, params
        assert response.json()["detail"]


def test_another_teams_schedule_answers_404_and_is_left_out(api_for, responder, teams, rotation):
    _ours, theirs = teams
    schedule, _ada, _ben = rotation
    schedule.team = theirs
    schedule.save()
    client = api_for(responder)

    assert client.get(LOAD, {"schedule": schedule.pk}).status_code == 404
    assert client.get(LOAD, {"team": theirs.pk}).status_code == 404
    assert client.get(LOAD, PERIOD).json()["rows"] == []


def test_a_manager_sees_every_team(api_for, manager, teams):
    _ours, theirs = teams
    incident_at(T0, ServiceFactory(team=theirs))

    assert api_for(manager).get(INCIDENTS, {**PERIOD, "team": theirs.pk}).json()["count"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-13-01"}, "end"),
        ({"start": "2026-11-01", "end": "2026-10-01"}, "end"),
        ({"start": "2026-11-01T10:00:00Z", "end": "2026-11-01T10:00:00Z"}, "end"),
        ({"start": "2025-01-01", "end": "2026-06-01"}, "end"),
        ({"start": "0001-01-01"}, "start"),
        ({"team": "web"}, "team"),
        ({"team": "-1"}, "team"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(api_for, responder, params, field):
    for url in (INCIDENTS, LOAD):
        response = api_for(responder).get(url, params)
        assert response.status_code == 400, (url, params, response.content)
        assert field in response.json()


def test_a_bad_schedule_id_is_a_400(api_for, responder):
    assert api_for(responder).get(LOAD, {"schedule": "x"}).json() == {"schedule": ["Give a schedule id."]}


def test_stakeholders_and_strangers_get_no_reports(api_for, stakeholder):
    assert api_for(stakeholder).get(INCIDENTS).status_code == 403
    assert api_for(None).get(LOAD).status_code in (401, 403)


def test_default_period_is_the_last_30_days(api_for, responder, service, frozen):
    incident_at(datetime(2026, 11, 15, tzinfo=UTC), service)
    incident_at(datetime(2026, 10, 15, tzinfo=UTC), service)

    data = api_for(responder).get(INCIDENTS).json()

    assert data["count"] == 1
    assert data["end"] == "2026-12-01T13:00:00+01:00"
    assert data["start"] == "2026-11-01T13:00:00+01:00"


def test_csv_downloads(api_for, responder, service, rotation):
    _schedule, ada, _ben = rotation
    incident = incident_at(T0, service, severity=Severity.SEV1)
    acknowledge_at(incident, T0 + timedelta(seconds=60), by=ada, channel=AckChannel.VOICE)
    page(incident, ada, T0)
    client = api_for(responder)

    response = client.get(INCIDENTS, {**PERIOD, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="incidents-20261001.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["figure", "key", "value"]
    assert ["count", "", "1"] in rows
    assert ["by_severity", "SEV1", "1"] in rows
    assert ["acks_by_channel", "voice", "1"] in rows
    assert ["time_to_acknowledge", "median", "60.0"] in rows
    assert ["person_pages", "ada", "1"] in rows

    response = client.get(LOAD, {"start": "2026-11-10", "end": "2026-11-10", "format": "csv"})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["user", "name", "oncall_seconds", "pages", "off_hours_pages", "sleep_interruptions"]
    assert sorted(row[0] for row in rows[1:]) == ["ada", "ben"]
    assert sum(int(row[2]) for row in rows[1:]) == 24 * 3600


def test_a_bad_csv_request_answers_json(api_for, responder):
    response = api_for(responder).get(INCIDENTS, {"start": "nope", "format": "csv"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def _incidents_with_pages(service, people, n):
    for i in range(n):
        incident = incident_at(T0 + timedelta(minutes=i), service, severity=Severity.SEV1 if i % 2 else Severity.SEV3)
        for step, person in enumerate(people):
            page(incident, person, T0 + timedelta(minutes=i, seconds=step), step=step)
        acknowledge_at(incident, T0 + timedelta(minutes=i, seconds=30), by=people[0], channel=AckChannel.LINK)
        if i % 3:
            resolve_at(incident, T0 + timedelta(minutes=i, seconds=90))


@pytest.mark.parametrize("count", [2, 20])
def test_queries_do_not_grow_with_incidents(
    api_for, responder, service, rotation, count, django_assert_max_num_queries
):
    _schedule, ada, ben = rotation
    for person, zone in ((ada, "Europe/Zurich"), (ben, "America/New_York")):
        in_zone(person, zone)
    _incidents_with_pages(service, [ada, ben], count)
    client = api_for(responder)

    with django_assert_max_num_queries(12):  # the person, their roles and teams, then the figures
        data = client.get(INCIDENTS, PERIOD).json()
    with django_assert_max_num_queries(12):
        load = client.get(LOAD, PERIOD).json()

    assert data["count"] == count
    assert data["pages"] == 2 * count
    assert data["acks_by_channel"] == {"link": count}
    assert {row["user"]["username"]: row["pages"] for row in load["rows"]} == {"ada": count, "ben": count}
