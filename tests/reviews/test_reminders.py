"""An overdue action item reminds its owner once a day, through their own notification rules."""

import datetime as dt
import json

import pytest
import time_machine
from django.db import transaction

from incidents import notices
from incidents.models import Notice
from people.models import ContactMethod, NotificationRule, Profile
from reviews import drafting, reminders, tasks
from reviews.models import ActionItem
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db(transaction=True)

NOON = dt.datetime(2026, 12, 10, 11, 0, tzinfo=dt.UTC)


def _webhook(user, url):
    method = ContactMethod.objects.create(user=user, kind=ContactMethod.Kind.WEBHOOK, address=url)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)
    return method


@pytest.fixture
def item(service, teammate):
    incident = IncidentFactory(service=service)
    review, _created = drafting.start(incident)
    return ActionItem.objects.create(
        review=review, title="Alert on queue depth", owner=teammate, due=dt.date(2026, 12, 9)
    )


def test_an_overdue_item_reminds_its_owner_at_their_webhook_once_a_day(settings, http_receiver, item, teammate):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    _webhook(teammate, http_receiver.url + "/hook")
    with time_machine.travel(NOON, tick=False):
        assert tasks.remind_overdue_action_items() == 1
        assert reminders.remind_overdue() == 0  # the hourly run again: told already today
        [notice] = Notice.objects.all()
        assert notice.kind == Notice.Kind.ACTION_ITEM
        assert notice.key == f"action-item:{item.pk}:2026-12-10"
        assert notices.NOTICES.send([notice.pk]) == 1
    [request] = http_receiver.requests
    body = json.loads(request["body"])
    assert body["event"] == "notice.action_item"
    assert "Alert on queue depth" in body["subject"]
    assert f"/admin/reviews/actionitem/{item.pk}/change/" in body["url"]
    with time_machine.travel(NOON + dt.timedelta(days=1), tick=False):
        assert reminders.remind_overdue() == 1
    assert Notice.objects.count() == 2


def test_items_not_due_yet_or_done_remind_nobody(item, teammate):
    _webhook(teammate, "http://127.0.0.1:9/hook")
    with time_machine.travel(dt.datetime(2026, 12, 9, 11, 0, tzinfo=dt.UTC), tick=False):
        assert reminders.remind_overdue() == 0  # due today: not overdue yet
    item.status = ActionItem.Status.DONE
    item.save()
    with time_machine.travel(NOON, tick=False):
        assert reminders.remind_overdue() == 0
    assert not Notice.objects.exists()


def test_the_owners_own_date_and_language_count(item, teammate, monkeypatch):
    _webhook(teammate, "http://127.0.0.1:9/hook")
    spoken = []
    speaking_to = notices.speaking_to
    monkeypatch.setattr(notices, "speaking_to", lambda user: spoken.append(user) or speaking_to(user))
    Profile.objects.create(user=teammate, language="fr", time_zone="Pacific/Kiritimati")  # UTC+14
    # 23:00 UTC on the due date is already the next day in Kiritimati: overdue there.
    with time_machine.travel(dt.datetime(2026, 12, 9, 23, 0, tzinfo=dt.UTC), tick=False), transaction.atomic():
        assert reminders.remind_overdue() == 1
    notice = Notice.objects.get()
    assert notice.key.endswith(":2026-12-10")
    assert spoken == [teammate]  # written in the owner's language
