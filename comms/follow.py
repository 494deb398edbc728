"""How stakeholder communications follow what happens to incidents.

The worker runs these for incident events (`incidents.events`); each is
idempotent, so running one twice tells nobody twice.
"""

from django.utils import timezone
from django.utils.translation import gettext_noop

from comms import cadence, stakeholders, status_updates
from comms.models import Delivery, StakeholderGroup, StatusUpdate
from incidents import timeline
from incidents.models import Incident, Play


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


def play_ran(incident_id, play_id):
    """The stakeholder groups a play names hear of the incident: its latest status update (the first notice,
    written now when nothing was posted yet). Once per incident, play and group."""
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    groups = list(StakeholderGroup.objects.filter(plays=play_id).order_by("name"))
    if incident is None or not incident.is_open or not groups:
        return []
    update = StatusUpdate.objects.filter(incident=incident).order_by("-posted_at", "-pk").first()
    if update is None:
        update = status_updates.internal_notice(incident) or StatusUpdate.objects.filter(incident=incident).first()
    told = stakeholders.fan_out_to_groups(update, groups, key_prefix=f"play:{incident.pk}:{play_id}")
    if told:
        play = Play.objects.filter(pk=play_id).first()
        timeline.record(
            incident,
            timeline.Kind.STAKEHOLDERS,
            gettext_noop("Play %(play)s: stakeholder groups told: %(groups)s."),
            params={"play": play.name if play else "?", "groups": ", ".join(group.name for group in told)},
            data={"play": play_id, "update": update.pk, "groups": [group.pk for group in told]},
        )
    return told
