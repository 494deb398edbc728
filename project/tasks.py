"""Background tasks of the project itself."""

from django.utils import timezone

from project.models import Heartbeat


def heartbeat(name="worker"):
    """Record that a worker ran a task now; /healthz reports how long ago that was."""
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now()})
