"""Handing work to django-q2, with one broker connection per process.

`django_q.tasks.async_task` builds a new broker (a new Redis connection) on
every call unless it is given one; ingestion enqueues often enough to notice.
"""

import threading

_local = threading.local()


def broker():
    """This thread's broker, built once."""
    from django_q.brokers import get_broker

    if getattr(_local, "broker", None) is None:
        _local.broker = get_broker()
    return _local.broker


def enqueue(task, *args, **kwargs):
    """Queue `task` (a dotted path) with its arguments; returns the task id."""
    from django_q.conf import Conf
    from django_q.tasks import async_task

    if Conf.SYNC:
        return async_task(task, *args, **kwargs)
    return async_task(task, *args, broker=broker(), **kwargs)
