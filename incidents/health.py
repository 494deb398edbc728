"""What /healthz and the admin dashboard ask of incidents: has anything that should page failed to?"""

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from incidents.models import Incident, Notification, Status

PAGE_WITHIN = timedelta(seconds=60)  # a triggered incident with a policy has had a page attempt by then
LOOKBACK = timedelta(hours=24)  # older unpaged incidents were seen long ago


def unpaged(now=None):
    """Triggered incidents of services with an escalation policy and no page attempt 60 s after their trigger."""
    now = now or timezone.now()
    attempted = Notification.objects.filter(incident=OuterRef("pk"), purpose=Notification.Purpose.PAGE, attempts__gt=0)
    return (
        Incident.objects.filter(
            status=Status.TRIGGERED,
            service__escalation_policy__isnull=False,
            created_at__lte=now - PAGE_WITHIN,
            created_at__gte=now - LOOKBACK,
        )
        .exclude(Exists(attempted))
        .select_related("service")
        .order_by("created_at")
    )
