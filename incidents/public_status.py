"""A service's public status: what the status page says, set by a person, and its history."""

from django.db import transaction
from django.utils import timezone

from incidents.models import PublicStatus, Service, ServiceStatusChange


def set_public_status(service, status, *, by=None, at=None):
    """Set the service's public status and record the change (its 90-day history); returns whether it changed."""
    if status not in PublicStatus.values:
        raise ValueError(f"unknown public status {status!r}")
    at = at or timezone.now()
    with transaction.atomic():
        changed = Service.objects.filter(pk=service.pk).exclude(public_status=status).update(public_status=status)
        if changed:
            ServiceStatusChange.objects.create(service_id=service.pk, status=status, at=at, by=by)
    service.public_status = status
    return bool(changed)
