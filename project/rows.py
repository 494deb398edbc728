"""Writing rows in fewer round trips than the ORM's defaults allow."""

from django.db import connection


def insert_unless_taken(obj):
    """INSERT `obj` unless a unique constraint or index already holds such a row; returns whether it did.

    One statement (`ON CONFLICT DO NOTHING … RETURNING`, PostgreSQL and SQLite
    3.35+) instead of a savepoint, an INSERT that may fail and a rollback to
    the savepoint. Fields take their defaults as with `save()`; the primary
    key is set on success.
    """
    meta = obj._meta
    fields = [field for field in meta.concrete_fields if not (field.primary_key and obj.pk is None)]
    values = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608 (model metadata)
        f"ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True
