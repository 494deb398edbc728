"""django-q2 entry points: take ids, reload, act only if the work is still due."""

from incidents import escalation


def start_escalation(incident_id):
    escalation.start(incident_id, inline=True)


def advance_escalation(escalation_id):
    escalation.advance(escalation_id, inline=True)


def send_notifications(notification_ids):
    escalation.PAGES.send(notification_ids)


def send_notification(notification_id):
    """Kept for tasks queued before notifications were sent in lists."""
    escalation.send(notification_id)
