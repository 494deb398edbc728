"""Swap requests with real parts: the live server, the real worker telling people by webhook; and many people
accepting at once on PostgreSQL, where the row lock lets one accept win."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from people.models import ContactMethod, NotificationRule
from project.roles import RESPONDERS
from rotations.models import Override, SwapRequest
from tests.conftest import api_client_for, require_postgres
from tests.factories import UserFactory
from tests.incidents.test_paging_live import wait_for, workers  # noqa: F401  (the worker fixture)
from tests.rotations.factories import LayerFactory, ScheduleFactory

pytestmark = pytest.mark.django_db(transaction=True)

TAKERS = 8


def on_call_schedule(people):
    """The first person always on call (a one-person layer on top), everyone else on the layer below."""
    schedule = ScheduleFactory(name="Platform", time_zone="UTC")
    start = timezone.now() - timedelta(days=1)
    LayerFactory(schedule=schedule, priority=1, rotation_start=start, shift_unit="weeks", participants=people[:1])
    LayerFactory(schedule=schedule, priority=0, rotation_start=start, shift_unit="weeks", participants=people[1:])
    return schedule


def test_the_worker_tells_the_people_offered_then_both_people_of_an_accepted_request(
    live_server,
    workers,  # noqa: F811
    http_receiver,
):
    ann, ben = (UserFactory(username=name, roles=[RESPONDERS]) for name in ("ann", "ben"))
    for user in (ann, ben):
        hook = ContactMethod.objects.create(user=user, kind="webhook", address=f"{http_receiver.url}/{user.username}")
        NotificationRule.objects.create(user=user, contact_method=hook, delay_minutes=0)
    schedule = on_call_schedule([ann, ben])
    tokens = {user.username: Token.objects.create(user=user).key for user in (ann, ben)}
    base = f"{live_server.url}/api/v1/schedules/{schedule.pk}/swap-requests/"
    workers.start()

    def post(who, url, body=None):
        return requests.post(url, json=body, headers={"Authorization": f"Token {tokens[who]}"}, timeout=10)

    begin = timezone.now() + timedelta(hours=2)
    asked = post("ann", base, {"start": begin.isoformat(), "end": (begin + timedelta(hours=3)).isoformat()})
    assert asked.status_code == 201, asked.text
    wait_for(lambda: len(http_receiver.requests) == 1, timeout=20, message="ben told of the request")
    assert http_receiver.requests[0]["path"] == "/ben"

    assert post("ben", f"{base}{asked.json()['id']}/accept/").status_code == 200
    wait_for(lambda: len(http_receiver.requests) == 3, timeout=20, message="both told of the accept")
    told = {r["path"]: json.loads(r["body"])["subject"] for r in http_receiver.requests[1:]}
    assert set(told) == {"/ann", "/ben"}
    assert "takes your shift" in told["/ann"]
    assert Override.objects.get().user == ben


@pytest.mark.postgres
def test_many_people_accepting_the_same_request_at_once_make_one_override():
    require_postgres()
    people = [UserFactory(username=f"p{i}", roles=[RESPONDERS]) for i in range(TAKERS + 1)]
    requester, takers = people[0], people[1:]
    schedule = on_call_schedule(people)
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
