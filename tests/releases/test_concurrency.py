"""Several workers at once, on PostgreSQL: one announcement per occurrence, one approval per exception."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from releases import announce, approvals
from releases.models import FreezeAnnouncement, FreezeException
from tests.conftest import require_postgres
from tests.factories import UserFactory
from tests.releases.factories import FreezeExceptionFactory, ReleaseWindowFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 8


@pytest.fixture(autouse=True)
def postgres_only(db):
    require_postgres()


def all_at_once(function, count=THREADS):
    start = threading.Barrier(count)

    def run(index):
        try:
            start.wait(timeout=30)
            return function(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_schedulers_announce_a_freeze_once(settings, http_receiver):
    settings.PIQUET_FREEZE_ANNOUNCE = [http_receiver.url.replace("http://", "json://")]
    ReleaseWindowFactory(name="Weekend freeze")
    friday_noon = datetime(2026, 11, 27, 12, 0, 30, tzinfo=ZoneInfo("Europe/Zurich"))
    sent = all_at_once(lambda _index: announce.announce_due(now=friday_noon))
    assert sum(sent) == 1
    assert len(http_receiver.requests) == 1
    assert FreezeAnnouncement.objects.count() == 1


def test_concurrent_approvals_approve_once(service):
    from django.contrib.auth.models import Group

    managers_group, _ = Group.objects.get_or_create(name="Managers")
    managers = [UserFactory(username=f"manager{n}") for n in range(THREADS)]
    for manager in managers:
        manager.groups.add(managers_group)
    exception = FreezeExceptionFactory(services=[service], ends_at=datetime.now(ZoneInfo("UTC")) + timedelta(hours=1))

    def approve(index):
        try:
            approvals.approve_exception(exception, by=managers[index])
            return "approved"
        except approvals.ApprovalConflict:
            return "conflict"

    outcomes = all_at_once(approve)
    assert outcomes.count("approved") == 1
    assert outcomes.count("conflict") == THREADS - 1
    assert FreezeException.objects.get().approved_by in managers
