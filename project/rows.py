"""Writing rows in fewer round trips than the ORM's defaults allow."""

import contextlib
import datetime
import functools
import threading
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction

_batch = threading.local()


@functools.cache
def _insert_plan(meta, vendor, with_pk, count, suffix):
    """The fields written (each with its column's attribute, its kind, see below, and whether it is a foreign
    key) and the statement, for `count` rows of a model (the same for every request)."""
    fields = tuple(field for field in meta.concrete_fields if with_pk or not field.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * count)} "  # noqa: S608
        f"{suffix}RETURNING {quote(meta.pk.column)}"
    )
    return tuple((field, field.attname, _kind(field), field.is_relation) for field in fields), sql


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


_CONVERTED, _PLAIN, _INSTANT = range(3)


def _kind(field):
    """_PLAIN: see above; _INSTANT: a datetime converted the same way wherever it is written; or _CONVERTED."""
    if isinstance(field, models.ForeignKey):
        return _PLAIN if type(field.target_field) in {models.AutoField, models.BigAutoField} else _CONVERTED
    if type(field) is models.DateTimeField and not (field.auto_now or field.auto_now_add):
        return _INSTANT
    return _PLAIN if type(field) in _PLAIN_FIELDS else _CONVERTED


class _Insert:
    """One INSERT of rows of one model: its statement and its values, built when it is made.

    Values not known then are read when it runs: the `late` fields, and a key to a row written in between (a
    new incident's, for the rows it starts with: see `prepared()`)."""

    __slots__ = ("late", "objs", "params", "sql")

    def __init__(self, objs, suffix="", late=(), instants=None, unwritten=False):
        # The connection itself, not the `connection` proxy: each field's conversion asks it for its operations,
        # and every attribute read through the proxy looks the connection up again (a third of the conversion).
        db = connections[DEFAULT_DB_ALIAS]
        fields, self.sql = _insert_plan(objs[0]._meta, db.vendor, objs[0].pk is not None, len(objs), suffix)
        self.objs, self.params, self.late = objs, [], []
        # The rows written together mostly share one instant (a new incident's "now"): converted once.
        instants = {} if instants is None else instants
        for obj in objs:
            for field, attname, kind, key in fields:
                value = getattr(obj, attname)
                # `unwritten`: a key may refer to a row not written yet, then read when the statement runs.
                if attname in late or (unwritten and value is None and key and field.get_cached_value(obj, None)):
                    self.late.append((len(self.params), obj, field, kind))
                    self.params.append(None)
                # A text, a number or a key as it is (half of a row's fields); the rest as Django converts them.
                elif kind == _PLAIN and type(value) in _PLAIN_VALUES:
                    self.params.append(value)
                elif kind == _INSTANT and type(value) is datetime.datetime:
                    if (converted := instants.get(value)) is None:
                        converted = instants[value] = field.get_db_prep_save(value, db)
                    self.params.append(converted)
                else:
                    self.params.append(field.get_db_prep_save(field.pre_save(obj, True), db))

    def values(self):
        """The statement's values, with those read now."""
        db = connections[DEFAULT_DB_ALIAS]
        for index, obj, field, kind in self.late:
            self.params[index] = _late_value(obj, field, kind, db)
        return self.params

    def inlined(self, expression):
        """The statement and its values, with the late values for which `expression(obj, field)` gives SQL
        written as that SQL (read by the database) and the others read now."""
        db = connections[DEFAULT_DB_ALIAS]
        params, written = list(self.params), {}
        for index, obj, field, kind in self.late:
            if (sql := expression(obj, field)) is None:
                params[index] = _late_value(obj, field, kind, db)
            else:
                written[index] = sql
        if not written:
            return self.sql, params
        pieces = self.sql.split("%s")
        sql = pieces[0] + "".join(written.get(index, "%s") + piece for index, piece in enumerate(pieces[1:]))
        return sql, [value for index, value in enumerate(params) if index not in written]

    def run(self):
        """Run the statement; returns its rows (the keys of the rows written, in their order)."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.values())
            return cursor.fetchall()


def _late_value(obj, field, kind, db):
    value = getattr(obj, field.attname)
    if value is None and field.is_relation and (related := field.get_cached_value(obj, None)) is not None:
        if related.pk is None:
            raise ValueError(f"{obj._meta.label}.{field.name} refers to a row not written yet")
        value = related.pk
        setattr(obj, field.attname, value)
    if kind == _PLAIN and type(value) in _PLAIN_VALUES:
        return value
    return field.get_db_prep_save(field.pre_save(obj, True), db)


def _saved(obj, pk):
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def unless_taken(obj, *, late=()):
    """The statement of `insert_unless_taken(obj)`, built now; the `late` fields are read when it runs."""
    return _Insert([obj], "ON CONFLICT DO NOTHING ", late)


def insert_unless_taken(obj, *, built=None):
    """INSERT `obj` unless a unique constraint or index already holds such a row; returns whether it did.

    One statement (`ON CONFLICT DO NOTHING … RETURNING`, PostgreSQL and SQLite
    3.35+) instead of a savepoint, an INSERT that may fail and a rollback to
    the savepoint. Fields take their defaults as with `save()`; the primary
    key is set on success. `built`: its statement from `unless_taken(obj)`.
    """
    keys = (built or unless_taken(obj)).run()
    if not keys:
        return False
    _saved(obj, keys[0][0])
    return True


def insert_with_rows(built, batch, *, before=(), late=None, after=()):
    """PostgreSQL: INSERT a row unless taken (`built`, from `unless_taken()`) and the rows of a `prepared()`
    batch that refer to it, their key to it read in the same statement; returns whether the row was written.

    `before` and `after`: more writable CTEs, each `("name AS (…)", params)`, before the row (its `late`
    fields, attname → SQL expression, may read them) and after the batch's (they may read the row's columns from
    `inserted`). At least one row of the batch must refer to the row with a NOT NULL key: when the row is
    taken, that key is NULL, and the statement fails on it and writes nothing (any other error is raised).
    Outside a transaction there is no BEGIN and no COMMIT: one round trip; inside one, a savepoint of its own.
    """
    obj, late, quote = built.objs[0], late or {}, connection.ops.quote_name
    parts, params = [], []
    for sql, values in before:
        parts.append(sql)
        params += values
    sql, values = built.inlined(lambda _obj, field: late.get(field.attname))
    columns = [obj._meta.get_field(name) for name in late]
    parts.append(f"inserted AS ({sql}{''.join(', ' + quote(field.column) for field in columns)})")
    params += values
    keys_to = set()  # (table, column) of the NOT NULL keys to the row, which are NULL when it is taken

    def key_to(row, field):
        if not (field.is_relation and field.get_cached_value(row, None) is obj):
            return None
        if not field.null:
            keys_to.add((row._meta.db_table, field.column))
        return f"(SELECT {quote(obj._meta.pk.column)} FROM inserted)"  # noqa: S608

    for index, insert in enumerate(batch.inserts):
        sql, values = insert.inlined(key_to)
        parts.append(f"w{index} AS ({sql})")
        params += values
    if not keys_to:
        raise ValueError(f"no row of the batch refers to the {obj._meta.label} row with a NOT NULL key")
    for sql, values in after:
        parts.append(sql)
        params += values
    # Within one INSERT the keys come from the sequence in the order of the rows: sorted, they match the objects.
    selected = [quote(obj._meta.pk.column)] + [quote(field.column) for field in columns]
    for index, insert in enumerate(batch.inserts):
        key = quote(insert.objs[0]._meta.pk.column)
        selected.append(f"(SELECT array_agg({key} ORDER BY {key}) FROM w{index})")  # noqa: S608
    statement = f"WITH {', '.join(parts)} SELECT {', '.join(selected)} FROM inserted"  # noqa: S608
    try:
        own = contextlib.nullcontext() if transaction.get_autocommit() else transaction.atomic()
        with own, connection.cursor() as cursor:
            cursor.execute(statement, params)
            row = cursor.fetchone()
    except IntegrityError as error:
        diag = getattr(error.__cause__, "diag", None)
        if diag is not None and diag.sqlstate == _NOT_NULL_VIOLATION and (diag.table_name, diag.column_name) in keys_to:
            return False
        raise
    _saved(obj, row[0])
    for field, value in zip(columns, row[1 : 1 + len(columns)], strict=True):
        setattr(obj, field.attname, value)
    for insert, pks in zip(batch.inserts, row[1 + len(columns) :], strict=True):
        for written, key in zip(insert.objs, pks, strict=True):
            _saved(written, key)
    for _objs, then in batch.pending:
        if then is not None:
            then()
    return True


_NOT_NULL_VIOLATION = "23502"


def _run(insert):
    for obj, (pk,) in zip(insert.objs, insert.run(), strict=True):
        _saved(obj, pk)


def insert_all(objs):
    """INSERT a few rows of one model in one plain statement, setting their primary keys.

    `bulk_create` sends arrays (UNNEST) on PostgreSQL, which costs more to
    build than it saves for a handful of rows; this is for such handfuls, and
    for the one row that `Model.objects.create()` would build a query for.
    No signals are sent: use it for models nothing listens to.
    """
    if objs:
        _run(_Insert(objs))
    return objs


def insert_soon(objs, *, then=None):
    """`insert_all(objs)`, then `then()` (which may use their primary keys); inside a `together()` block, both
    when the block ends (inside a `prepared()` block, when its batch is written)."""
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
    if _batch.last is None:
        raise RuntimeError("rows.last_in_batch() has no statement to join inside rows.prepared()")
    _batch.last.append((ctes, value, params, then))
    return True


def tied_to(name, obj):
    """The keyword arguments that tie a new row's `name` to `obj`: its key, or (not written yet, inside
    `prepared()`) the object, whose key is read when the row is written."""
    return {f"{name}_id": obj.pk} if obj.pk is not None else {name: obj}


class Batch:
    """The rows of a `prepared()` block, their INSERTs built, written by `write_soon()`."""

    def __init__(self):
        self.pending, self.inserts = [], []


def write_soon(batch):
    """Write a `prepared()` batch with the rows of the `together()` block (outside a block, in one of its own)."""
    if getattr(_batch, "prepared", None) is None:
        with together():
            write_soon(batch)
        return
    _batch.prepared.append(batch)


def _open(pending, last, prepared):
    if getattr(_batch, "pending", None) is not None:
        raise RuntimeError("rows.together() and rows.prepared() blocks do not nest")
    _batch.pending, _batch.last, _batch.prepared = pending, last, prepared


def _close():
    _batch.pending = _batch.last = _batch.prepared = None


def _by_model(pending, unwritten=False):
    by_model = {}
    for objs, _then in pending:
        for obj in objs:
            by_model.setdefault(type(obj), []).append(obj)
    instants = {}
    return [_Insert(group, instants=instants, unwritten=unwritten) for group in by_model.values()]


@contextmanager
def prepared():
    """Build the INSERTs of the rows given to `insert_soon()` inside the block, and write nothing: the `Batch`
    it yields is written by `write_soon()`, with a later `together()` block's rows.

    Built before a transaction begins, they are built while others write (SQLite lets one transaction write at
    a time). Their rows may refer to a row written in between: a new incident's timeline entry, escalation and
    event, before the incident; the key is read when they are written.
    """
    batch = Batch()
    _open(batch.pending, None, None)
    try:
        yield batch
    finally:
        _close()
    batch.inserts = _by_model(batch.pending, unwritten=True)


@contextmanager
def together():
    """Write the rows given to `insert_soon()` (and the batches given to `write_soon()`) inside the block when
    it ends: one INSERT per model, and on PostgreSQL all of them in one statement (a new incident's timeline
    entries, escalation and event, and its number: see `last_in_batch()`).

    Nothing is written if the block raises. Blocks do not nest.
    """
    pending, last, batches = [], [], []
    _open(pending, last, batches)
    try:
        yield
    finally:
        _close()
    inserts = [insert for batch in batches for insert in batch.inserts] + _by_model(pending)
    pending = [item for batch in batches for item in batch.pending] + pending
    if last or (len(inserts) > 1 and connection.vendor == "postgresql"):
        for insert in [insert for insert in inserts if insert.objs[0].pk is not None]:
            _run(insert)
        values = _insert_groups([insert for insert in inserts if insert.objs[0].pk is None], last)
    else:
        for insert in inserts:
            _run(insert)
    for _objs, then in pending:
        if then is not None:
            then()
    for index, (_ctes, _value, _params, then) in enumerate(last):
        then(values[index])


def _insert_groups(inserts, last):
    """PostgreSQL: the INSERTs (of several models) and the `last` CTEs, as writable CTEs of one statement; sets
    the new keys and returns the values of each of `last`."""
    parts, params, keys = [], [], []
    for index, insert in enumerate(inserts):
        parts.append(f"w{index} AS ({insert.sql})")
        params += insert.values()
        pk = connection.ops.quote_name(insert.objs[0]._meta.pk.column)
        keys.append(f"SELECT {index}, {pk} FROM w{index}")  # noqa: S608
    for index, (ctes, value, values, _then) in enumerate(last, start=len(inserts)):
        parts += ctes
        params += values
        keys.append(f"SELECT {index}, {value}")
    # Within one INSERT the keys come from the sequence in the order of the rows: sorted, they match the objects.
    sql = f"WITH {', '.join(parts)} {' UNION ALL '.join(keys)} ORDER BY 1, 2"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    objs = [obj for insert in inserts for obj in insert.objs]
    for obj, (_index, pk) in zip(objs, rows[: len(objs)], strict=True):
        _saved(obj, pk)
    return [[value for index, value in rows[len(objs) :] if index == len(inserts) + n] for n in range(len(last))]
