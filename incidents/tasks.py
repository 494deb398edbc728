"""django-q2 entry points: take ids, reload, act only if the work is still due."""

import logging

from incidents import escalation, notices, schedule_checks

logger = logging.getLogger(__name__)


def advance_escalation(escalation_id):
    try:
        escalation.advance(escalation_id, inline=True)
    except Exception:
        # Never a crash loop on one incident: say so on its timeline and try again in a minute.
        logger.exception("escalation failed escalation=%s", escalation_id)
        escalation.postpone_after_failure(escalation_id)


def send_notifications(notification_ids):
    escalation.PAGES.send(notification_ids)


def send_notification(notification_id):
    """Kept for tasks queued before notifications were sent in lists."""
    escalation.send(notification_id)


def send_notices(notice_ids):
    notices.NOTICES.send(notice_ids)


def check_schedules():
    """Daily: tell each schedule's owners about gaps and unreachable people in the next 14 days."""
    schedule_checks.check_schedules()
