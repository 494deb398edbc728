from datetime import timedelta

from django import template
from django.db.models import Count
from django.utils import timezone

from incidents import health
from incidents.models import Incident, Notification, Status

register = template.Library()


@register.inclusion_tag("incidents/dashboard.html", takes_context=True)
def incident_dashboard(context):
    """Open incidents by status, incidents nobody was paged for, and the deliveries that failed in 24 hours."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("incidents.view_incident"):
        return {"visible": False}
    rows = Incident.objects.open().values("status").annotate(n=Count("id")).order_by()
    counts = {row["status"]: row["n"] for row in rows}
    since = timezone.now() - timedelta(hours=24)
    failed = Notification.objects.filter(status=Notification.Status.FAILED, created_at__gte=since)
    return {
        "visible": True,
        "triggered": counts.get(Status.TRIGGERED, 0),
        "acknowledged": counts.get(Status.ACKNOWLEDGED, 0),
        "latest_open": Incident.objects.open().select_related("service").order_by("-created_at")[:5],
        "unpaged": list(health.unpaged()[:10]),
        "failed_count": failed.count(),
        "failed": failed.select_related("incident", "user", "contact_method").order_by("-created_at")[:5],
    }
