"""django-q2 entry points of the worker: the follow-ups of incident events."""

from worker import followups


def follow_up(event_id):
    followups.follow_up(event_id)
