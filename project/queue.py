"""Handing work to django-q2, with one broker connection per process.

`django_q.tasks.async_task` builds a new broker (a new Redis connection) on
every call unless it is given one; ingestion enqueues often enough to notice.

The database holds what is due; the queue only speeds it up. So a broker that
is down never fails the request or the task that enqueues: `enqueue` logs the
failure and returns None, and the caller leaves the row for the ticker.
"""

import logging
import threading

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
