"""Who watches the watcher: what /healthz reports, for the monitoring that watches Piquet itself.

Healthy means: the database answers, a worker's heartbeat is fresh, every
triggered incident of a service with a policy had a page attempt within a
minute, and no message is stuck in "sending" past its retry window.
"""

from datetime import timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

from comms import stakeholders
from incidents import escalation, health, notices
from project.models import Heartbeat

HEARTBEAT_FRESH = timedelta(seconds=60)  # the worker beats every 10 s
OUTBOXES = (
    ("pages", escalation.PAGES),
    ("stakeholder messages", stakeholders.DELIVERIES),
    ("notices", notices.NOTICES),
)
LISTED = 10  # incidents named in the answer


def report(now=None):
    """(healthy, details): details is what /healthz answers, with each problem in a sentence."""
    now = now or timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return False, {
            "status": "error",
            "database": "unavailable",
            "problems": [f"database: {exc.__class__.__name__}"],
        }
    problems = []
    last_seen = Heartbeat.objects.filter(name="worker").values_list("at", flat=True).first()
    if last_seen is None:
        problems.append("no worker has reported: start `manage.py worker`")
    elif now - last_seen > HEARTBEAT_FRESH:
        problems.append(f"no worker heartbeat for {int((now - last_seen).total_seconds())} s")
    unpaged = list(health.unpaged(now).values_list("number", flat=True)[: LISTED + 1])
    if unpaged:
        numbers = ", ".join(f"#{n}" for n in unpaged[:LISTED]) + (" …" if len(unpaged) > LISTED else "")
        problems.append(f"triggered incidents with no page attempt after a minute: {numbers}")
    stuck = {name: outbox.stuck(now).count() for name, outbox in OUTBOXES}
    for name, count in stuck.items():
        if count:
            problems.append(f"{count} {name} stuck in sending past their retry window")
    details = {
        "status": "error" if problems else "ok",
        "database": "ok",
        "time": now.isoformat(),
        "worker_last_seen": last_seen.isoformat() if last_seen else None,
        "unpaged_incidents": unpaged[:LISTED],
        "stuck_messages": stuck,
        "problems": problems,
    }
    return not problems, details
