"""Handing work to django-q2, with one broker connection per process.

`django_q.tasks.async_task` builds a new broker (a new Redis connection) on
every call unless it is given one; ingestion enqueues often enough to notice.

`enqueue_with` queues work written by the caller's transaction: inside that
transaction when the broker is the database's own queue table (the task row
then commits, or rolls back, with the work: one commit, never a lost
enqueue), after it commits otherwise.

The database holds what is due; the queue only speeds it up. So a broker that
is down never fails the request or the task that enqueues: `enqueue` logs the
failure and returns None, and the caller leaves the row for the ticker.
"""

import logging
import threading

from django.db import DEFAULT_DB_ALIAS, transaction

logger = logging.getLogger(__name__)
_local = threading.local()


def broker():
    """This thread's broker, built once."""
    from django_q.brokers import get_broker

    if getattr(_local, "broker", None) is None:
        _local.broker = get_broker()
    return _local.broker


def enqueue(task, *args, **kwargs):
    """Queue `task` (a dotted path) with its arguments; returns the task id, or None when the broker failed."""
    from django_q.conf import Conf
    from django_q.tasks import async_task

    if Conf.SYNC:
        return async_task(task, *args, **kwargs)
    try:
        return async_task(task, *args, broker=broker(), **kwargs)
    except Exception as exc:  # the broker is down: the ticker hands the work out again
        _local.broker = None
        logger.error("enqueue failed task=%s error=%s: %s", task, exc.__class__.__name__, exc)
        return None


def _queue_in_transaction():
    from django_q.conf import Conf

    return not Conf.SYNC and Conf.ORM == DEFAULT_DB_ALIAS


def enqueue_with(task, *args, lost=None):
    """Queue `task` with the caller's transaction (see above); `lost()` runs when the broker failed."""

    def send():
        if enqueue(task, *args) is None and lost is not None:
            lost()

    if transaction.get_autocommit() or not _queue_in_transaction():
        transaction.on_commit(send)
        return
    with transaction.atomic():  # a failed insert of the task row must not abort the caller's transaction
        queued = enqueue(task, *args)
    if queued is None and lost is not None:
        lost()
