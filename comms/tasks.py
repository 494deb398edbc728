"""django-q2 entry points for stakeholder communications: take ids, act only if still due."""

from comms import stakeholders, status_updates


def incident_triggered(incident_id):
    """Run after an incident is triggered or declared: its cadence, and the first notice if its severity says so."""
    status_updates.first_notice(incident_id)


def fan_out(update_id):
    stakeholders.fan_out(update_id)


def send_deliveries(delivery_ids):
    stakeholders.send_many(delivery_ids)
