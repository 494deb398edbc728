"""One tick of the worker's ticker: hand out whatever is due, in every app.

The database holds what is due (an escalation step, a message, a reminder, an
event to follow); a tick hands it to django-q2. A lost enqueue is found again
by the next tick.
"""

from comms import cadence, stakeholders, status_updates
from incidents import checklist, escalation, events, heartbeat, notices, responders, shift_notices, swap_notices
from worker import followups


def tick(now=None):
    """Hand out due escalations and pages, follow-ups, stakeholder reminders, deliveries and notices; open the incidents
    of silent heartbeats; tell heads-ups before shifts and handoffs at their start; remind of overdue tasks. Returns
    work handed."""
    handed = escalation.tick(now)
    handed += followups.hand_out(now)
    handed += status_updates.hand_out_fan_outs(now)
    handed += cadence.tick(now)
    handed += heartbeat.tick(now)
    handed += swap_notices.tick(now)
    handed += shift_notices.tick(now)
    handed += responders.tick(now)
    handed += checklist.tick(now)  # reminders of overdue tasks
    handed += notices.tick(now)  # last: the notices the checks above wrote
    return handed


def release():
    """Give back whatever was handed out and not done yet (a stopping worker's queue may have held it):
    the next tick of any worker hands it out again at once. Returns how many rows."""
    released = escalation.release()
    released += escalation.PAGES.release()
    released += stakeholders.DELIVERIES.release()
    released += events.release()
    released += notices.NOTICES.release()
    released += responders.release()
    return released
