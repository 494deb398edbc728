"""Swap requests answered at once by many people, on PostgreSQL: the row lock lets one accept win."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from project.roles import RESPONDERS
from rotations.models import Override, SwapRequest
from tests.conftest import api_client_for, require_postgres
from tests.factories import UserFactory
from tests.rotations.factories import LayerFactory, ScheduleFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TAKERS = 8


@pytest.fixture(autouse=True)
def postgres_only(db):
    require_postgres()


def test_many_people_accepting_the_same_request_at_once_make_one_override():
    people = [UserFactory(username=f"p{i}", roles=[RESPONDERS]) for i in range(TAKERS + 1)]
    requester, takers = people[0], people[1:]
    schedule = ScheduleFactory(name="Platform", time_zone="UTC")
    # One-person primary layer (the requester, always on call) above a layer holding everyone else.
    start = timezone.now() - timedelta(days=1)
    LayerFactory(schedule=schedule, priority=1, rotation_start=start, shift_unit="weeks", participants=[requester])
    LayerFactory(schedule=schedule, priority=0, rotation_start=start, shift_unit="weeks", participants=takers)
    swap = SwapRequest.objects.create(
        schedule=schedule,
        requester=requester,
        start=timezone.now() + timedelta(hours=2),
        end=timezone.now() + timedelta(hours=5),
    )
    clients = [api_client_for(user) for user in takers]
    url = f"/api/v1/schedules/{schedule.pk}/swap-requests/{swap.pk}/accept/"
    begin = threading.Barrier(TAKERS)

    def accept(client):
        try:
            begin.wait(timeout=30)
            return client.post(url).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=TAKERS) as pool:
        statuses = sorted(pool.map(accept, clients))

    assert statuses == [200] + [409] * (TAKERS - 1)
    override = Override.objects.get()
    swap.refresh_from_db()
    assert (swap.state, swap.taken_by, swap.override) == ("accepted", override.user, override)
