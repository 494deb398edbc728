"""How stakeholder communications follow what happens to incidents.

The worker runs these for incident events (`incidents.events`); each is
idempotent, so running one twice tells nobody twice.
"""

from django.utils import timezone

from comms import cadence, stakeholders, status_updates
from comms.models import Delivery
from incidents.models import Incident


def incident_started(incident_id):
    """A new incident: its cadence, and the first notice if its severity tells stakeholders."""
    status_updates.first_notice(incident_id)


def severity_changed(incident_id):
    """The severity's cadence applies; stakeholders hear of an incident raised to a severity that tells them."""
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    if incident is None:
        return
    definition = cadence.severity_changed(incident, now=timezone.now())
    if definition is not None and definition.inform_stakeholders:
        status_updates.first_notice(incident_id)


def incident_resolved(incident_id):
    """No more reminders; one prompt for a final update."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is not None:
        cadence.incident_resolved(incident, now=timezone.now())


def role_assigned(incident_id, *, role, user_id, key):
    """Tell the person who was given a role on the incident. Once per `key`."""
    incident = Incident.objects.filter(pk=incident_id).first()
    user = incident.roles.filter(role=role, user_id=user_id).select_related("user").first() if incident else None
    if user is None:
        return 0  # the role went to someone else meanwhile
    created = stakeholders.create_for_person(
        user=user.user, key=key, purpose=Delivery.Purpose.ROLE, incident=incident, data={"role": role}
    )
    stakeholders.DELIVERIES.hand_out(Delivery.objects.filter(key=key))
    return created
