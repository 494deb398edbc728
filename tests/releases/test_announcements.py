"""Freeze begin/end announcements: real SMTP and Apprise deliveries, once per occurrence."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from releases import announce, tasks
from releases.models import FreezeAnnouncement
from tests.conftest import free_port
from tests.releases.factories import ReleaseWindowFactory

pytestmark = pytest.mark.django_db
ZURICH = ZoneInfo("Europe/Zurich")
FRIDAY_NOON = datetime(2026, 11, 27, 12, 0, tzinfo=ZURICH)
MONDAY_EIGHT = datetime(2026, 11, 30, 8, 0, tzinfo=ZURICH)


@pytest.fixture
def recipients(settings, smtp_server, http_receiver):
    hook = http_receiver.url.replace("http://", "json://") + "/freezes"
    settings.PIQUET_FREEZE_ANNOUNCE = ["ops@example.com", "cto@example.com", hook]
    return smtp_server, http_receiver


def test_freeze_beginning_is_announced_by_email_and_apprise_once(recipients, service):
    smtp, receiver = recipients
    ReleaseWindowFactory(name="Weekend freeze", message="Enjoy the weekend.", services=[service])
    assert announce.announce_due(now=FRIDAY_NOON + timedelta(seconds=40)) == 1
    assert announce.announce_due(now=FRIDAY_NOON + timedelta(minutes=1, seconds=40)) == 0
    assert sorted(m["to"][0] for m in smtp.messages) == ["cto@example.com", "ops@example.com"]
    message = smtp.messages[0]["data"]
    assert "Subject: Freeze begins: Weekend freeze" in message
    assert "(Fri 27 Nov 12:00 → Mon 30 Nov 08:00, Europe/Zurich). No deploys to Website until it ends." in message
    assert len(receiver.requests) == 1
    posted = json.loads(receiver.requests[0]["body"])
    assert receiver.requests[0]["path"] == "/freezes"
    assert posted["title"] == "Freeze begins: Weekend freeze"
    assert "Website" in posted["message"] and "Enjoy the weekend." in posted["message"]
    announcement = FreezeAnnouncement.objects.get()
    assert announcement.kind == "begin"
    assert announcement.occurrence_start == FRIDAY_NOON
    assert announcement.sent_at is not None
    assert announcement.error == ""


def test_freeze_end_is_announced(recipients):
    _smtp, receiver = recipients
    ReleaseWindowFactory(name="Weekend freeze")
    assert announce.announce_due(now=MONDAY_EIGHT + timedelta(seconds=5)) == 1
    assert "Freeze over: Weekend freeze" in json.loads(receiver.requests[0]["body"])["title"]
    assert FreezeAnnouncement.objects.get().kind == "end"


def test_a_late_run_within_the_lookback_still_announces_and_an_old_transition_does_not(recipients):
    ReleaseWindowFactory(name="Weekend freeze")
    assert announce.announce_due(now=FRIDAY_NOON + timedelta(hours=1)) == 0
    assert announce.announce_due(now=FRIDAY_NOON + timedelta(minutes=10)) == 1


def test_release_windows_and_disabled_freezes_are_not_announced(recipients):
    ReleaseWindowFactory(kind="allow")
    ReleaseWindowFactory(enabled=False)
    assert announce.announce_due(now=FRIDAY_NOON + timedelta(seconds=30)) == 0


def test_a_claimed_occurrence_is_not_sent_again(recipients):
    smtp, receiver = recipients
    window = ReleaseWindowFactory()
    FreezeAnnouncement.objects.create(
        window=window, occurrence_start=FRIDAY_NOON, occurrence_end=MONDAY_EIGHT, kind="begin"
    )
    assert announce.announce_due(now=FRIDAY_NOON + timedelta(seconds=30)) == 0
    assert smtp.messages == [] and receiver.requests == []


def test_each_occurrence_is_announced_across_dst(recipients):
    ReleaseWindowFactory(name="Weekend freeze")
    march_end = datetime(2026, 3, 30, 8, 0, tzinfo=ZURICH)
    assert announce.announce_due(now=march_end + timedelta(seconds=1)) == 1
    assert FreezeAnnouncement.objects.get().occurrence_end == march_end


def test_delivery_failure_is_recorded(settings, service):
    settings.PIQUET_FREEZE_ANNOUNCE = [f"json://127.0.0.1:{free_port()}/down"]
    ReleaseWindowFactory()
    assert announce.announce_due(now=FRIDAY_NOON + timedelta(seconds=30)) == 1
    announcement = FreezeAnnouncement.objects.get()
    assert announcement.sent_at is not None
    assert announcement.error.startswith("json://")


def test_the_periodic_task_announces_a_freeze_that_just_began(recipients):
    _smtp, receiver = recipients
    now = timezone.now()
    ReleaseWindowFactory(
        name="Migration freeze",
        start_cron="",
        end_cron="",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    assert tasks.announce_freezes() == 1
    assert tasks.announce_freezes() == 0
    assert json.loads(receiver.requests[0]["body"])["title"] == "Freeze begins: Migration freeze"


def test_schedule_is_registered_by_migration_and_command_idempotently():
    assert Schedule.objects.filter(func="releases.tasks.announce_freezes").count() == 1
    Schedule.objects.all().delete()
    call_command("releases_schedules")
    call_command("releases_schedules")
    schedule = Schedule.objects.get(func="releases.tasks.announce_freezes")
    assert schedule.schedule_type == Schedule.MINUTES
    assert schedule.minutes == 1
    assert schedule.repeats == -1
