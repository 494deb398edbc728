"""The one writer of an incident's timeline.

Every entry, whichever app it comes from, is written by `record()` inside the
transaction of the change it tells of, with a kind that `TimelineEntry.Kind`
declares. An entry is written once and never changed.
"""

from django.utils import timezone

from incidents.models import TimelineEntry

Kind = TimelineEntry.Kind
SYSTEM = "Piquet"


def record(incident, kind, message, *, by=None, actor_name="", data=None, at=None):
    """Write one entry on the incident's timeline: by a person (`by`), else by `actor_name` (else Piquet)."""
    if kind not in Kind.values:
        raise ValueError(f"undeclared timeline kind {kind!r}")
    return TimelineEntry.objects.create(
        incident_id=incident.pk,
        kind=kind,
        message=message,
        data=data or {},
        at=at or timezone.now(),
        actor=by,
        actor_name="" if by else (actor_name or SYSTEM),
    )


def has(incident, kind):
    """Whether the incident's timeline holds an entry of this kind."""
    return TimelineEntry.objects.filter(incident_id=incident.pk, kind=kind).exists()
