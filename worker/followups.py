"""What follows what happens to an incident, across the apps: the one place where it is composed.

Incidents writes an event row in the transaction of each change that others
follow (`incidents.events`); the ticker hands due rows to `worker.tasks.follow_up`,
which runs the followers named here for the event's kind, each apart from the
others, retried when one fails. Nothing else in Piquet calls upward.
"""

from comms import follow as comms
from incidents import events, plays
from incidents.models import IncidentEvent
from releases import deployments
from reviews import drafting

TASK = "worker.tasks.follow_up"
Kind = IncidentEvent.Kind


def recent_deployments(event):
    deployments.add_recent_deployments(event.incident_id)


def first_stakeholder_notice(event):
    comms.incident_started(event.incident_id)


def stakeholder_cadence(event):
    comms.severity_changed(event.incident_id)


def final_update_prompt(event):
    comms.incident_resolved(event.incident_id)


def review_draft(event):
    drafting.create_for(event.incident_id)


def role_notice(event):
    data = event.data
    comms.role_assigned(event.incident_id, role=data["role"], user_id=data["user"], key=f"role:{event.pk}")


def matching_plays(event):
    plays.run_matching(event.incident_id)


def play_stakeholders(event):
    comms.play_ran(event.incident_id, event.data["play"])


FOLLOWERS = {
    Kind.TRIGGERED: (recent_deployments, first_stakeholder_notice, matching_plays),
    Kind.SEVERITY_CHANGED: (stakeholder_cadence, matching_plays),
    Kind.TYPE_CHANGED: (matching_plays,),
    Kind.PLAY_RAN: (play_stakeholders,),
    Kind.ROLE_ASSIGNED: (role_notice,),
    Kind.RESOLVED: (final_update_prompt, review_draft),
}


def follow_up(event_id):
    """Run the followers of one event (the task the ticker hands events to)."""
    kind = IncidentEvent.objects.filter(pk=event_id).values_list("kind", flat=True).first()
    if kind is None:
        return False
    return events.run(event_id, FOLLOWERS.get(kind, ()))


def hand_out(now=None):
    """Give due events to the queue; the ticker calls this every tick."""
    return events.hand_out(TASK, now=now)
