"""Writing rows in fewer round trips than the ORM's defaults allow."""

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections


@functools.cache
def _insert_plan(meta, vendor, with_pk, count, suffix):
    """The fields written and the statement, for `count` rows of a model (the same for every request)."""
    fields = tuple(field for field in meta.concrete_fields if with_pk or not field.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * count)} "  # noqa: S608
        f"{suffix}RETURNING {quote(meta.pk.column)}"
    )
    return fields, sql


def _insert_sql(meta, objs, suffix=""):
    # The connection itself, not the `connection` proxy: each field's conversion asks it for its operations, and
    # every attribute read through the proxy looks the connection up again (a third of the conversion's cost).
    db = connections[DEFAULT_DB_ALIAS]
    fields, sql = _insert_plan(meta, db.vendor, objs[0].pk is not None, len(objs), suffix)
    params = [field.get_db_prep_save(field.pre_save(obj, True), db) for obj in objs for field in fields]
    return sql, params


def _saved(obj, pk):
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def insert_unless_taken(obj):
    """INSERT `obj` unless a unique constraint or index already holds such a row; returns whether it did.

    One statement (`ON CONFLICT DO NOTHING … RETURNING`, PostgreSQL and SQLite
    3.35+) instead of a savepoint, an INSERT that may fail and a rollback to
    the savepoint. Fields take their defaults as with `save()`; the primary
    key is set on success.
    """
    sql, params = _insert_sql(obj._meta, [obj], "ON CONFLICT DO NOTHING ")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    _saved(obj, row[0])
    return True


def insert_all(objs):
    """INSERT a few rows of one model in one plain statement, setting their primary keys.

    `bulk_create` sends arrays (UNNEST) on PostgreSQL, which costs more to
    build than it saves for a handful of rows; this is for such handfuls, and
    for the one row that `Model.objects.create()` would build a query for.
    No signals are sent: use it for models nothing listens to.
    """
    if not objs:
        return objs
    sql, params = _insert_sql(objs[0]._meta, objs)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for obj, (pk,) in zip(objs, rows, strict=True):
        _saved(obj, pk)
    return objs
