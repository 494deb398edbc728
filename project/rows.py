"""Writing rows in fewer round trips than the ORM's defaults allow."""

import functools
import threading
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

_batch = threading.local()


@functools.cache
def _insert_plan(meta, vendor, with_pk, count, suffix):
    """The fields written (each with whether it is plain, see below) and the statement, for `count` rows of a
    model (the same for every request)."""
    fields = tuple(field for field in meta.concrete_fields if with_pk or not field.primary_key)
    plain = tuple(_is_plain(field) for field in fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * count)} "  # noqa: S608
        f"{suffix}RETURNING {quote(meta.pk.column)}"
    )
    return tuple(zip(fields, plain, strict=True)), sql


# Fields whose value Django's conversion gives to the driver as it is when it is of one of these types.
_PLAIN_FIELDS = frozenset(
    {
        models.CharField,
        models.TextField,
        models.BooleanField,
        models.IntegerField,
        models.SmallIntegerField,
        models.BigIntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
    }
)
_PLAIN_VALUES = frozenset({str, int, bool, type(None)})


def _is_plain(field):
    if isinstance(field, models.ForeignKey):
        return type(field.target_field) in {models.AutoField, models.BigAutoField}
    return type(field) in _PLAIN_FIELDS


def _insert_sql(meta, objs, suffix=""):
    # The connection itself, not the `connection` proxy: each field's conversion asks it for its operations, and
    # every attribute read through the proxy looks the connection up again (a third of the conversion's cost).
    db = connections[DEFAULT_DB_ALIAS]
    fields, sql = _insert_plan(meta, db.vendor, objs[0].pk is not None, len(objs), suffix)
    params = []
    for obj in objs:
        for field, plain in fields:
            # A text, a number or a key as it is (half of a row's fields); the rest as Django converts them.
            if plain and type(value := getattr(obj, field.attname)) in _PLAIN_VALUES:
                params.append(value)
            else:
                params.append(field.get_db_prep_save(field.pre_save(obj, True), db))
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


def insert_soon(objs, *, then=None):
    """`insert_all(objs)`, then `then()` (which may use their primary keys); inside a `together()` block, both
    when the block ends."""
    pending = getattr(_batch, "pending", None)
    if pending is not None:
        pending.append((objs, then))
        return objs
    insert_all(objs)
    if then is not None:
        then()
    return objs


def after(then):
    """Run `then()` once the rows of the `together()` block are written (at once outside a block)."""
    insert_soon([], then=then)


def last_in_batch(ctes, value, params, *, then):
    """Inside a `together()` block on PostgreSQL, more writable CTEs (`ctes`: "name AS (…)" each, after the
    block's INSERTs) for the block's statement; the values of `value` ("column FROM name") go to `then(values)`
    when the block ends. Returns False, adding nothing, outside a block or on another database: the caller then
    runs its own statement."""
    if getattr(_batch, "pending", None) is None or connection.vendor != "postgresql":
        return False
    _batch.last.append((ctes, value, params, then))
    return True


@contextmanager
def together():
    """Write the rows given to `insert_soon()` inside the block when it ends: one INSERT per model, and on
    PostgreSQL all of them in one statement (a new incident's timeline entries, escalation and event, and its
    number: see `last_in_batch()`).

    Nothing is written if the block raises. Blocks do not nest.
    """
    if getattr(_batch, "pending", None) is not None:
        raise RuntimeError("rows.together() blocks do not nest")
    pending, last = _batch.pending, _batch.last = [], []
    try:
        yield
    finally:
        _batch.pending = _batch.last = None
    by_model = {}
    for objs, _then in pending:
        for obj in objs:
            by_model.setdefault(type(obj), []).append(obj)
    groups = list(by_model.values())
    if last or (len(groups) > 1 and connection.vendor == "postgresql"):
        for group in [group for group in groups if group[0].pk is not None]:
            insert_all(group)
        values = _insert_groups([group for group in groups if group[0].pk is None], last)
    else:
        for group in groups:
            insert_all(group)
    for _objs, then in pending:
        if then is not None:
            then()
    for index, (_ctes, _value, _params, then) in enumerate(last):
        then(values[index])


def _insert_groups(groups, last):
    """PostgreSQL: the INSERTs of several models and the `last` CTEs, as writable CTEs of one statement; sets
    the new keys and returns the values of each of `last`."""
    parts, params, keys = [], [], []
    for index, objs in enumerate(groups):
        sql, values = _insert_sql(objs[0]._meta, objs)
        parts.append(f"w{index} AS ({sql})")
        params += values
        keys.append(f"SELECT {index}, {connection.ops.quote_name(objs[0]._meta.pk.column)} FROM w{index}")  # noqa: S608
    for index, (ctes, value, values, _then) in enumerate(last, start=len(groups)):
        parts += ctes
        params += values
        keys.append(f"SELECT {index}, {value}")
    # Within one INSERT the keys come from the sequence in the order of the rows: sorted, they match the objects.
    sql = f"WITH {', '.join(parts)} {' UNION ALL '.join(keys)} ORDER BY 1, 2"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    objs = [obj for group in groups for obj in group]
    for obj, (_index, pk) in zip(objs, rows[: len(objs)], strict=True):
        _saved(obj, pk)
    return [[value for index, value in rows[len(objs) :] if index == len(groups) + n] for n in range(len(last))]
