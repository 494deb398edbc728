"""django-q2 entry points: take ids, reload, act only if the work is still due."""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

from incidents import escalation

logger = logging.getLogger(__name__)


def incident_triggered(incident_id):
    """Start the call chain, then run every app's follow-up (each idempotent).

    A failing follow-up does not keep the others from running; the task then
    fails as a whole so that django-q2 runs it again.
    """
    escalation.start(incident_id, inline=True)
    failed = None
    for path in settings.PIQUET_ON_INCIDENT_TRIGGERED:
        try:
            import_string(path)(incident_id)
        except Exception as exc:
            logger.exception("follow-up failed task=%s incident_id=%s", path, incident_id)
            failed = failed or exc
    if failed is not None:
        raise failed


def start_escalation(incident_id):
    escalation.start(incident_id, inline=True)


def advance_escalation(escalation_id):
    escalation.advance(escalation_id, inline=True)


def send_notification(notification_id):
    escalation.send(notification_id)
