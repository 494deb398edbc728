"""On SQLite, transactions of several connections take turns through the lock file beside the database."""

import fcntl
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite backend's lock file")


def gate_path():
    return Path(f"{connection.settings_dict['NAME']}-writers")


def test_a_transaction_waits_for_the_one_before_it_however_long_and_starts_the_moment_it_ends():
    from incidents.models import IncidentCounter

    IncidentCounter.objects.update_or_create(pk=1, defaults={"value": 0})
    started, waited = threading.Event(), {}
    hold = 0.3  # seconds: longer than the SQLite timeout the waiter is given below

    def second_writer():
        connection.ensure_connection()
        connection.connection.execute("PRAGMA busy_timeout = 50")  # SQLite alone would give up after 50 ms
        started.set()
        begun = time.monotonic()
        try:
            with transaction.atomic():
                waited["seconds"] = time.monotonic() - begun
                IncidentCounter.objects.filter(pk=1).update(value=2)
        finally:
            connections.close_all()

    with transaction.atomic():
        IncidentCounter.objects.filter(pk=1).update(value=1)
        thread = threading.Thread(target=second_writer)
        thread.start()
        started.wait()
        time.sleep(hold)
        released = time.monotonic()
    thread.join(10)
    assert not thread.is_alive()
    assert IncidentCounter.objects.get(pk=1).value == 2  # after the first, without "database is locked"
    assert hold * 0.9 <= waited["seconds"] <= hold + (time.monotonic() - released) + 0.05
    assert gate_path().exists()


def test_a_process_that_ignores_the_lock_file_is_still_kept_out_by_sqlite():
    with transaction.atomic():
        connection.cursor().execute("SELECT 1")  # the transaction has begun: it holds SQLite's write lock
        other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0.05)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_a_failed_begin_or_a_rollback_leaves_the_lock_file_free():
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.cursor().execute("SELECT 1")
        raise RuntimeError("the request failed")
    assert not connection.holds_gate
    other = open(gate_path(), "rb")  # noqa: SIM115
    try:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no BlockingIOError
    finally:
        other.close()


def test_each_statement_is_rewritten_for_sqlite_once_and_runs_as_written():
    from project.sqlite3.base import _qmark

    _qmark.cache_clear()
    with connection.cursor() as cursor:
        for value in ("50", "75", "99"):
            cursor.execute("SELECT %s || '%%', %s", [value, 1])
            assert cursor.fetchone() == (f"{value}%", 1)
        cursor.execute("SELECT %(name)s", {"name": "named"})  # Django's named style, rewritten as before
        assert cursor.fetchone() == ("named",)
    assert (_qmark.cache_info().misses, _qmark.cache_info().hits) == (1, 2)
