"""SQLite whose transactions queue for the write lock instead of sleeping in SQLite's busy handler.

Every transaction takes SQLite's write lock when it begins (`transaction_mode`
IMMEDIATE). A connection that finds it taken sleeps in SQLite's busy handler,
1, 2, 5, 10, 15… ms at a time, so it wakes late, and with a few processes
writing (web workers, the task worker) the lock sits idle much of the time:
a new incident's transaction lasts about 2 ms.

Here a transaction first takes an exclusive `flock()` on a file beside the
database (NAME + "-writers"), which the kernel hands to the next waiter the
moment it is released: writers take turns in the order they came, without
sleeping. The wait has no time limit of its own: it lasts as long as the
transaction before it (SQLite's limit, `timeout`, would have failed the waiting
transaction instead). The file lock only orders writers; SQLite's own lock
still guards the data, so a process that does not take the file lock (the
`sqlite3` shell, a backup) is as safe as before.

Its cursor also remembers how each statement's placeholders are rewritten for
SQLite, which Django's does with a regular expression every time it runs one.
"""

import fcntl
import functools
import os

from django.db.backends.sqlite3 import base


class CursorWrapper(base.SQLiteCursorWrapper):
    """Django's cursor, which rewrites every statement's `%s` placeholders into SQLite's `?` with a regular
    expression each time it runs: here each statement's rewriting is remembered."""

    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return _qmark(query)
        return super().convert_query(query, param_names=param_names)


@functools.lru_cache(maxsize=2048)
def _qmark(query):
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class DatabaseWrapper(base.DatabaseWrapper):
    gate = None  # this connection's descriptor of the lock file, or None (an in-memory database)
    holds_gate = False

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=CursorWrapper)

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self._close_gate()
        if not self.is_in_memory_db():
            self.gate = os.open(f"{self.settings_dict['NAME']}-writers", os.O_RDWR | os.O_CREAT, 0o600)
        return connection

    def _start_transaction_under_autocommit(self):
        if self.gate is not None and not self.holds_gate:
            fcntl.flock(self.gate, fcntl.LOCK_EX)
            self.holds_gate = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._open_gate()
            raise

    def _commit(self):
        try:
            super()._commit()
        finally:
            self._open_gate()

    def _rollback(self):
        try:
            super()._rollback()
        finally:
            self._open_gate()

    def _close(self):
        try:
            super()._close()
        finally:
            self._close_gate()

    def _open_gate(self):
        if self.holds_gate:
            self.holds_gate = False
            fcntl.flock(self.gate, fcntl.LOCK_UN)

    def _close_gate(self):
        if self.gate is not None:
            os.close(self.gate)  # also releases the lock
            self.gate = None
            self.holds_gate = False
