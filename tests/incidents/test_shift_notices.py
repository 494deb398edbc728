"""Heads-ups before shifts, handoffs at their start, and the daily check of every schedule's next 14 days."""

import io
import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from incidents import notices, schedule_checks, shift_notices
from incidents.models import Notice, ShiftCheck
from people.models import ContactMethod, NotificationRule, Profile, Team, TeamMembership
from rotations import handoffs
from rotations.models import EscalationPolicy, EscalationStep, HandoffNote, Layer, Override, Schedule
from rotations.restrictions import ScheduleError
from tests.factories import IncidentFactory, ServiceFactory, UserFactory
from tests.incidents.test_paging_live import wait_for, workers  # noqa: F401  (the worker fixture)
from worker import ticker

ZURICH = ZoneInfo("Europe/Zurich")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def webhook(user, url):
    method = ContactMethod.objects.create(user=user, kind=ContactMethod.Kind.WEBHOOK, address=url)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)
    return method


def daily(schedule, people, *, start, **fields):
    layer = Layer.objects.create(
        schedule=schedule, name="Daily", rotation_start=start, shift_length=1, shift_unit="days", **fields
    )
    layer.set_participants(people)
    return layer


def told(user, kind):
    return list(Notice.objects.filter(user=user, kind=kind).order_by("created_at", "id"))


@pytest.mark.django_db(transaction=True)
def test_a_heads_up_reaches_the_persons_webhook_before_the_shift_once(settings, http_receiver):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    alice = UserFactory(username="alice")
    Profile.objects.create(user=alice, heads_up_minutes=1, time_zone="Europe/Zurich")
    webhook(alice, http_receiver.url + "/alice")
    schedule = Schedule.objects.create(name="Platform", time_zone="Europe/Zurich")
    now = timezone.now()
    start = now + timedelta(minutes=1, seconds=1)
    layer = Layer.objects.create(
        schedule=schedule, name="Evening", rotation_start=start, shift_length=2, shift_unit="hours"
    )
    layer.set_participants([alice])

    ticker.tick(now - timedelta(seconds=2))  # more than a minute before: too early
    assert told(alice, Notice.Kind.HEADS_UP) == []
    ticker.tick(now + timedelta(seconds=1))
    [notice] = told(alice, Notice.Kind.HEADS_UP)
    assert notices.NOTICES.send([notice.pk]) == 1
    [request] = http_receiver.requests
    body = json.loads(request["body"])
    assert body["event"] == "notice.heads_up"
    assert "Platform" in body["subject"]
    assert start.astimezone(ZURICH).strftime("%H:%M %Z") in body["text"]
    assert "Europe/Zurich" in body["text"]
    assert body["url"].endswith(f"/admin/rotations/schedule/{schedule.pk}/change/")
    assert timezone.now() < start  # it arrived before the shift

    for later in (31, 45, 59):  # the next checks: told already
        ticker.tick(now + timedelta(seconds=later))
    assert len(told(alice, Notice.Kind.HEADS_UP)) == 1
    assert len(http_receiver.requests) == 1


@pytest.mark.django_db
def test_the_check_reads_the_schedules_only_when_due():
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    shift_notices.tick(now)
    assert ShiftCheck.objects.get().next_at == now + shift_notices.CHECK_EVERY
    ShiftCheck.objects.update(next_at=now + timedelta(hours=1))
    assert shift_notices.tick(now + timedelta(seconds=40)) == 0
    assert ShiftCheck.objects.get().next_at == now + timedelta(hours=1)  # not claimed, not read


@pytest.mark.django_db
def test_the_next_check_comes_sooner_when_a_heads_up_is_due_before_it():
    alice = UserFactory(username="alice")
    Profile.objects.create(user=alice, heads_up_minutes=60)
    schedule = Schedule.objects.create(name="Platform", time_zone="UTC")
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    layer = Layer.objects.create(
        schedule=schedule, name="L", rotation_start=now + 60 * 60 * timedelta(seconds=1) + timedelta(seconds=10)
    )
    layer.set_participants([alice])
    shift_notices.tick(now)
    assert ShiftCheck.objects.get().next_at == now + timedelta(seconds=10)


@pytest.mark.django_db
def test_no_heads_up_for_a_person_who_wants_none():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    Profile.objects.create(user=alice, heads_up_minutes=None)
    schedule = Schedule.objects.create(name="Platform", time_zone="UTC")
    daily(schedule, [alice, bob], start=datetime(2026, 6, 1, 8, tzinfo=UTC))
    for hour in range(0, 72, 6):
        shift_notices.run(datetime(2026, 6, 1, 9, tzinfo=UTC) + hour * H)
    assert told(alice, Notice.Kind.HEADS_UP) == []
    assert len(told(bob, Notice.Kind.HEADS_UP)) >= 1  # bob has the default 12 hours


@pytest.mark.django_db
def test_times_are_in_the_persons_zone_across_a_dst_change():
    # Zurich springs forward on 29 March 2026; New York did on 8 March: the 08:00 Zurich shift of
    # Saturday 28 March lasts 23 hours, 03:00 to 02:00 on a New York clock.
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    Profile.objects.create(user=alice, time_zone="America/New_York", heads_up_minutes=720)
    schedule = Schedule.objects.create(name="Zurich desk", time_zone="Europe/Zurich")
    daily(schedule, [alice, bob], start=datetime(2026, 3, 2, 8, 0, tzinfo=ZURICH))  # Monday: alice
    start = datetime(2026, 3, 28, 8, 0, tzinfo=ZURICH)  # Saturday, alice's (an even day from the 2nd)
    shift_notices.run(start - 11 * H)
    [notice] = told(alice, Notice.Kind.HEADS_UP)
    assert "2026-03-28 03:00 EDT" in notice.text
    assert "2026-03-29 02:00 EDT" in notice.text  # 23 hours later
    assert "America/New_York" in notice.text
    assert notice.key == f"heads-up:{schedule.pk}:{alice.pk}:{start.astimezone(UTC).isoformat()}"


@pytest.mark.django_db
def test_a_shift_that_continues_another_gets_no_second_heads_up():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    schedule = Schedule.objects.create(name="Platform", time_zone="UTC")
    daily(schedule, [alice, bob], start=datetime(2026, 6, 1, 8, tzinfo=UTC))  # alice 1 June, bob 2 June
    # Alice covers the first six hours of Bob's day: one stretch, 1 June 08:00 → 2 June 14:00.
    Override.objects.create(
        schedule=schedule,
        user=alice,
        start=datetime(2026, 6, 2, 8, tzinfo=UTC),
        end=datetime(2026, 6, 2, 14, tzinfo=UTC),
    )
    for minutes in range(0, 36 * 60, 20):  # the checks from 31 May 20:00 to 2 June 08:00
        shift_notices.run(datetime(2026, 5, 31, 20, tzinfo=UTC) + timedelta(minutes=minutes))

    def starts(user):
        return [n.key.split(":", 3)[3] for n in told(user, Notice.Kind.HEADS_UP)]

    assert starts(alice) == ["2026-06-01T08:00:00+00:00"]
    assert "2026-06-02 16:00 CEST" in told(alice, Notice.Kind.HEADS_UP)[0].text  # the end of the whole stretch
    assert starts(bob) == ["2026-06-02T14:00:00+00:00"]


@pytest.fixture
def handoff_setup(db):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    schedule = Schedule.objects.create(name="Platform", time_zone="Europe/Zurich")
    daily(schedule, [bob, alice], start=datetime(2026, 6, 1, 8, 0, tzinfo=ZURICH))  # bob 1 June, alice 2 June
    policy = EscalationPolicy.objects.create(name="Website")
    step = EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5)
    step.schedules.add(schedule)
    website = ServiceFactory(name="Website", slug="website", escalation_policy=policy)
    other = ServiceFactory(name="Billing", slug="billing")
    return {"alice": alice, "bob": bob, "schedule": schedule, "website": website, "other": other}


def test_the_incoming_person_gets_the_open_incidents_and_the_outgoing_persons_notes(handoff_setup):
    alice, bob, schedule = handoff_setup["alice"], handoff_setup["bob"], handoff_setup["schedule"]
    down = IncidentFactory(service=handoff_setup["website"], title="Checkout is down")
    IncidentFactory(service=handoff_setup["other"], title="Invoices late")  # not paged through this schedule
    handoffs.write_note(
        schedule=schedule,
        user=bob,
        text="The DB failover is flaky; watch replica lag.",
        now=datetime(2026, 6, 1, 18, 0, tzinfo=ZURICH),
    )
    handover = datetime(2026, 6, 2, 8, 0, tzinfo=ZURICH)
    shift_notices.run(handover - timedelta(seconds=5))
    assert told(alice, Notice.Kind.HANDOFF) == []  # not yet
    shift_notices.run(handover + timedelta(seconds=5))
    shift_notices.run(handover + timedelta(minutes=1))
    [notice] = told(alice, Notice.Kind.HANDOFF)
    assert "Bob" in notice.subject or bob.get_full_name() in notice.subject
    assert "The DB failover is flaky; watch replica lag." in notice.text
    assert f"#{down.number} Checkout is down" in notice.text
    assert "Invoices late" not in notice.text
    note = HandoffNote.objects.get()
    assert note.handed_to == alice and note.handed_over_at == handover


def test_a_handoff_without_notes_or_incidents_says_so(handoff_setup):
    alice = handoff_setup["alice"]
    shift_notices.run(datetime(2026, 6, 2, 8, 1, tzinfo=ZURICH))
    [notice] = told(alice, Notice.Kind.HANDOFF)
    assert "No incident is open" in notice.text
    assert "left no handoff notes" in notice.text


def test_a_note_needs_a_shift_of_ones_own(handoff_setup):
    outsider = UserFactory(username="olga")
    with pytest.raises(ScheduleError):
        handoffs.write_note(schedule=handoff_setup["schedule"], user=outsider, text="hi")
    with pytest.raises(ScheduleError):
        handoffs.write_note(schedule=handoff_setup["schedule"], user=handoff_setup["bob"], text="   ")


def test_a_handoff_late_beyond_the_grace_is_not_told(handoff_setup):
    shift_notices.run(datetime(2026, 6, 2, 8, 0, tzinfo=ZURICH) + shift_notices.HANDOFF_GRACE + timedelta(minutes=1))
    assert told(handoff_setup["alice"], Notice.Kind.HANDOFF) == []


@pytest.mark.django_db
def test_a_check_reads_fifty_schedules_in_a_few_queries(django_assert_max_num_queries):
    people = [UserFactory(username=f"p{n}") for n in range(6)]
    for number in range(50):
        schedule = Schedule.objects.create(name=f"S{number}", time_zone="Europe/Zurich")
        daily(schedule, people[number % 3 :], start=datetime(2026, 6, 1, 8, 0, tzinfo=ZURICH))
    now = datetime(2026, 6, 10, 9, 0, tzinfo=ZURICH)
    shift_notices.run(now)  # the heads-ups of the day
    with django_assert_max_num_queries(10):
        shift_notices.run(now + timedelta(minutes=1))  # nothing new: reading alone


@pytest.fixture
def gappy(db):
    mona = UserFactory(username="tina", first_name="Tina", last_name="Teamlead")
    Profile.objects.create(user=mona, time_zone="America/New_York")
    team = Team.objects.create(name="Platform", slug="platform")
    TeamMembership.objects.create(team=team, user=mona, role=TeamMembership.Role.MANAGER)
    alice = UserFactory(username="alice")
    ghost = UserFactory(username="ghost", first_name="Gus", last_name="Ghost", email="")
    schedule = Schedule.objects.create(name="Platform", time_zone="Europe/Zurich", team=team)
    now = datetime(2026, 6, 1, 9, 0, tzinfo=ZURICH)
    daily(
        schedule,
        [alice, ghost],
        start=datetime(2026, 6, 1, 8, 0, tzinfo=ZURICH),
        ends_at=datetime(2026, 6, 10, 8, 0, tzinfo=ZURICH),
    )
    return {"mona": mona, "ghost": ghost, "schedule": schedule, "now": now, "team": team}


def test_the_daily_check_tells_the_team_manager_of_a_gap_and_an_unreachable_person(gappy):
    mona = gappy["mona"]
    for _attempt in range(2):
        schedule_checks.check_schedules(gappy["now"])
    [notice] = told(mona, Notice.Kind.SCHEDULE)
    assert "Platform" in notice.subject
    # The layer ends 10 June 08:00 in Zurich: 02:00 in New York.
    assert "2026-06-10 08:00 CEST" in notice.text
    assert "2026-06-10 02:00 EDT" in notice.text
    assert "Gus Ghost" in notice.text
    assert notice.key == f"schedule-check:{gappy['schedule'].pk}:{mona.pk}:2026-06-01"
    schedule_checks.check_schedules(gappy["now"] + timedelta(days=1))
    assert len(told(mona, Notice.Kind.SCHEDULE)) == 2  # one a day


def test_a_schedule_of_no_team_goes_to_the_managers(gappy, manager):
    Schedule.objects.filter(pk=gappy["schedule"].pk).update(team=None)
    schedule_checks.check_schedules(gappy["now"])
    assert told(manager, Notice.Kind.SCHEDULE)
    assert told(gappy["mona"], Notice.Kind.SCHEDULE) == []


def test_a_covered_schedule_with_reachable_people_is_not_reported(db):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    schedule = Schedule.objects.create(name="Fine", time_zone="UTC")
    daily(schedule, [alice, bob], start=datetime(2026, 6, 1, 8, tzinfo=UTC))
    assert schedule_checks.find_problems(datetime(2026, 6, 2, tzinfo=UTC)) == []


def test_the_command_prints_what_it_found(gappy):
    out = io.StringIO()
    with time_machine.travel(gappy["now"], tick=False):
        call_command("check_schedules", "--dry-run", stdout=out)
        text = out.getvalue()
        assert "Platform" in text
        assert "2026-06-10 08:00 CEST" in text and "Gus Ghost" in text
        assert told(gappy["mona"], Notice.Kind.SCHEDULE) == []  # a dry run tells nobody
        call_command("check_schedules", stdout=io.StringIO())
    assert told(gappy["mona"], Notice.Kind.SCHEDULE)


@pytest.mark.django_db
def test_the_daily_check_is_registered_with_the_scheduler():
    from django_q.models import Schedule as QSchedule

    row = QSchedule.objects.get(name="incidents: check schedules")
    assert row.func == "incidents.tasks.check_schedules"
    assert row.schedule_type == QSchedule.DAILY


@pytest.mark.django_db
def test_a_person_who_cannot_be_reached_is_skipped_without_a_warning_every_check(caplog):
    ghost = UserFactory(username="ghost", email="")
    schedule = Schedule.objects.create(name="Platform", time_zone="UTC")
    daily(schedule, [ghost], start=datetime(2026, 6, 2, 8, tzinfo=UTC))
    for minutes in range(0, 60, 1):
        shift_notices.run(datetime(2026, 6, 1, 21, tzinfo=UTC) + timedelta(minutes=minutes))
    assert told(ghost, Notice.Kind.HEADS_UP) == []
    assert "no contact method" not in caplog.text


def test_the_real_worker_sends_the_heads_up_before_the_shift(transactional_db, live_server, workers, http_receiver):  # noqa: F811
    alice = UserFactory(username="alice")
    Profile.objects.create(user=alice, heads_up_minutes=1)
    webhook(alice, http_receiver.url + "/alice")
    schedule = Schedule.objects.create(name="Platform", time_zone="Europe/Zurich")
    start = timezone.now() + timedelta(seconds=75)
    Layer.objects.create(
        schedule=schedule, name="Evening", rotation_start=start, shift_length=2, shift_unit="hours"
    ).set_participants([alice])
    workers.start()
    wait_for(lambda: http_receiver.requests, timeout=60, message="the heads-up")
    arrived = timezone.now()
    assert arrived < start
    assert arrived >= start - timedelta(minutes=1)  # not before the lead time
    assert json.loads(http_receiver.requests[0]["body"])["event"] == "notice.heads_up"
    time.sleep(3)
    assert len(http_receiver.requests) == 1
