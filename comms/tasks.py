"""django-q2 entry points for stakeholder communications: take ids, act only if still due."""

from comms import maintenance, stakeholders, subscriptions


def fan_out(update_id):
    stakeholders.fan_out(update_id)


def send_deliveries(delivery_ids):
    stakeholders.DELIVERIES.send(delivery_ids)


def expire_unconfirmed_subscribers():
    subscriptions.expire_unconfirmed()


def announce_maintenance():
    return maintenance.announce_due()
