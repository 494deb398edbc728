"""The SQL of ingestion's hot path, written once per database and built once per process."""

import functools
import re

from django.db import connection

from incidents.models import OPEN_STATUS_SQL, Alert, Incident

# Events API v2: an alert kept with its incident.
RECORD = """
INSERT INTO {alert} (integration_id, incident_id, dedup_key, action, summary, severity, source,
                     fingerprint, status, payload, received_at)
SELECT %(integration)s, {incident_id}, %(dedup_key)s, %(action)s, %(summary)s, %(severity)s, %(source)s,
       '', '', %(payload)s{jsonb}, %(at)s {joined}
"""
# PostgreSQL: join the open incident and keep the alert in one atomic statement.
JOIN_AND_RECORD = """
WITH joined AS (
    UPDATE {incident} SET alert_count = alert_count + 1, last_alert_at = %(at)s
    WHERE service_id = %(service)s AND dedup_key = %(dedup_key)s AND status <> 'resolved'
    RETURNING id, number, status
), recorded AS ({record} RETURNING incident_id)
SELECT joined.id, joined.number, joined.status FROM joined JOIN recorded ON recorded.incident_id = joined.id
"""


# The SQL of the alert storm's hot path: a group's alerts are found through the (incident, fingerprint) unique
# index, whose condition the queries repeat word for word so that both databases use it; the fingerprints and
# the rows to write go as one JSON or array parameter, whatever their number.
_VENDOR_SQL = {
    "postgresql": {
        "in_fingerprints": "= ANY(%(fingerprints)s)",
        "jsonb": "::jsonb",
        "stored_alert": "a.payload -> 'alert'",
        "rows": (
            "FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(fingerprint text, action text, status text, "
            "summary text, severity text, source text, payload jsonb)"
        ),
        "row": "r.{}",
    },
    "sqlite": {
        "in_fingerprints": "IN (SELECT value FROM json_each(%(fingerprints)s))",
        "jsonb": "",
        "stored_alert": "json_extract(a.payload, '$.alert')",
        "rows": "FROM json_each(%(rows)s) AS r",
        "row": "json_extract(r.value, '$.{}')",
    },
}

READ_GROUP = """
SELECT i.id, i.number, i.status, i.alert_count,
       COALESCE(%(title)s, i.title) = i.title AND COALESCE(%(description)s, i.description) = i.description,
       a.fingerprint, a.status, a.summary, a.severity, a.source, {stored_alert}
FROM {incident} i LEFT JOIN {alert} a
  ON a.incident_id = i.id AND NOT (a.fingerprint = '') AND a.fingerprint {in_fingerprints}
WHERE {where}
"""
OPEN_GROUP = f"i.service_id = %(service)s AND i.dedup_key = %(dedup_key)s AND NOT (i.status = {OPEN_STATUS_SQL})"

WRITE_ALERTS = """
INSERT INTO {alert} (integration_id, incident_id, dedup_key, received_at,
                     fingerprint, action, status, summary, severity, source, payload)
SELECT %(integration)s, %(incident)s, %(dedup_key)s, %(at)s, {columns}
{rows} WHERE {where}
ON CONFLICT (incident_id, fingerprint) WHERE NOT (fingerprint = '') DO UPDATE SET
    status = excluded.status, summary = excluded.summary, severity = excluded.severity,
    source = excluded.source, payload = excluded.payload, received_at = excluded.received_at
"""
ROW_COLUMNS = ("fingerprint", "action", "status", "summary", "severity", "source", "payload")
# Count the new alerts in if the incident is open and still has the alert count it had when read.
COUNT_IF_UNCHANGED = """
UPDATE {incident} SET alert_count = alert_count + %(count)s,
    last_alert_at = CASE WHEN %(count)s > 0 THEN %(at)s ELSE last_alert_at END
WHERE id = %(incident)s AND alert_count = %(seen)s AND NOT (status = 'resolved')
"""
# PostgreSQL: that and the rows, in one statement.
WRITE_IF_UNCHANGED = "WITH joined AS ({count} RETURNING id), written AS ({write}) SELECT count(*) FROM joined"


def statement(template, where="", **parts):
    return _vendor_sql(connection.vendor, template, where, tuple(sorted(parts.items())))


@functools.cache  # a handful of statements per database, built once per process instead of once per request
def _vendor_sql(vendor_name, template, where, parts):
    vendor, parts = _VENDOR_SQL[vendor_name], dict(parts)
    return template.format(
        where=where,
        incident=connection.ops.quote_name(Incident._meta.db_table),
        alert=connection.ops.quote_name(Alert._meta.db_table),
        columns=", ".join(vendor["row"].format(name) for name in ROW_COLUMNS),
        **vendor,
        **parts,
    )


@functools.cache
def positional(sql):
    """A statement with named parameters as one with positional ones, and their names in order."""
    return _NAMED.sub("%s", sql), tuple(_NAMED.findall(sql))


_NAMED = re.compile(r"%\((\w+)\)s")
