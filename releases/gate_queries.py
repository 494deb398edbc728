"""The gate's hot-path reads, as plain SQL written once.

Every pipeline asks the gate, so its reads skip the ORM's query building
(about half of a gate answer's CPU time otherwise) and only return ids and
versions; the ORM loads full rows when there is something to load. The SQL
is portable between SQLite and PostgreSQL and tested on both.
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from incidents.models import OPEN_STATUS_SQL, Incident
from releases.models import FreezeException, ReleaseWindow


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _sql(name):
    window, window_services = _table(ReleaseWindow), _table(ReleaseWindow.services.through)
    exception, exception_services = _table(FreezeException), _table(FreezeException.services.through)
    User = get_user_model()
    statements = {
        "window_versions": (
            f"SELECT w.id, w.updated_at FROM {window} w WHERE w.enabled = %s AND ("  # noqa: S608 (table names from the models)
            f"NOT EXISTS (SELECT 1 FROM {window_services} a WHERE a.releasewindow_id = w.id) "
            f"OR w.id IN (SELECT n.releasewindow_id FROM {window_services} n WHERE n.service_id = %s)) ORDER BY w.id"
        ),
        "open_incident_ids": (
            f"SELECT i.id FROM {_table(Incident)} i WHERE i.service_id = %s AND NOT (i.status = {OPEN_STATUS_SQL}) "  # noqa: S608 (table names from the models)
            "AND i.severity IN ({severities}) ORDER BY i.number"
        ),
        "current_exception_ids": (
            f"SELECT e.id FROM {exception} e JOIN {exception_services} s ON s.freezeexception_id = e.id "  # noqa: S608 (table names from the models)
            "WHERE s.service_id = %s AND e.approved_by_id IS NOT NULL AND e.starts_at <= %s AND e.ends_at > %s"
        ),
        "holds_permission": (
            f"SELECT 1 FROM {_table(Permission)} p JOIN {_table(ContentType)} c ON c.id = p.content_type_id "  # noqa: S608 (table names from the models)
            "WHERE p.codename = %s AND c.app_label = %s AND ("
            f"EXISTS (SELECT 1 FROM {_table(User.user_permissions.through)} up "
            "WHERE up.permission_id = p.id AND up.user_id = %s) "
            f"OR EXISTS (SELECT 1 FROM {_table(Group.permissions.through)} gp "
            f"JOIN {_table(User.groups.through)} ug ON ug.group_id = gp.group_id "
            "WHERE gp.permission_id = p.id AND ug.user_id = %s))"
        ),
    }
    return statements[name]


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def window_versions(service_id):
    """[(id, version)] of the enabled windows applying to a service; the version changes on every save."""
    return _rows(_sql("window_versions"), [True, service_id])


def open_incident_ids(service_id, severities):
    if not severities:
        return []
    sql = _sql("open_incident_ids").replace("{severities}", ", ".join(["%s"] * len(severities)))
    return [row[0] for row in _rows(sql, [service_id, *severities])]


def current_exception_ids(service_id, at):
    value = connection.ops.adapt_datetimefield_value(at)
    return [row[0] for row in _rows(_sql("current_exception_ids"), [service_id, value, value])]


def holds_permission(user_id, app_label, codename):
    return bool(_rows(_sql("holds_permission"), [codename, app_label, user_id, user_id]))
