"""A status update posted while the task queue is down still reaches its stakeholders: the ticker fans it out."""

import datetime as dt

import redis
import time_machine
from django.utils import timezone
from django_q.brokers.redis_broker import Redis

from comms import status_updates
from comms.models import Delivery, Subscriber
from project import queue
from tests.comms.conftest import add_subscriber
from tests.conftest import free_port


def test_an_update_posted_while_the_broker_is_down_is_fanned_out_by_the_ticker(
    customers, claire, sev1, responder, run_tasks, monkeypatch, django_capture_on_commit_callbacks
):
    add_subscriber(customers, Subscriber.Kind.EMAIL, "partner@example.com")
    dead = Redis(list_key="piquet-unreachable")
    dead.connection = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setattr("django_q.conf.Conf.SYNC", False)
    monkeypatch.setattr(queue._local, "broker", dead, raising=False)
    with django_capture_on_commit_callbacks(execute=True):
        update = status_updates.post(sev1, phase="identified", message="Found it.", by=responder)
    update.refresh_from_db()
    assert update.fanned_out_at is None and update.fan_out_enqueued_at is None
    assert not Delivery.objects.filter(update=update).exists()

    monkeypatch.setattr(queue._local, "broker", None)
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=3), tick=False), run_tasks():
        assert status_updates.hand_out_fan_outs() == 1
    update.refresh_from_db()
    assert update.fanned_out_at is not None
    addresses = set(Delivery.objects.filter(update=update).values_list("address", flat=True))
    assert addresses == {"claire@example.com", "partner@example.com"}
    assert status_updates.hand_out_fan_outs() == 0  # once
