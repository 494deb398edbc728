from datetime import timedelta

from django import template
from django.db.models import Case, Count, IntegerField, Value, When
from django.utils import timezone

from incidents import health
from incidents.models import Incident, Notification, Status
from project.admin import sees_secrets

register = template.Library()

OPEN_LIMIT = 25  # open incidents listed on the admin index; the changelist has the rest


@register.inclusion_tag("incidents/open_incidents.html", takes_context=True)
def open_incidents(context):
    """The open incidents, the viewer's first (paged to them or a role they hold), then triggered before
    acknowledged, newest first: two queries whatever their number."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("incidents.view_incident"):
        return {"visible": False}
    rows = list(
        Incident.objects.open()
        .visible_to(user)
        .mine_first(user)
        .annotate(
            waiting=Case(When(status=Status.TRIGGERED, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .select_related("service", "acknowledged_by")
        .order_by("-is_mine", "waiting", "-created_at", "-number")[: OPEN_LIMIT + 1]
    )
    return {
        "visible": True,
        "incidents": rows[:OPEN_LIMIT],
        "more": len(rows) > OPEN_LIMIT,
        "triggered": Status.TRIGGERED,
    }


@register.inclusion_tag("incidents/dashboard.html", takes_context=True)
def incident_dashboard(context):
    """For Managers: open incidents by status, incidents nobody was paged for, and the deliveries that failed
    in 24 hours."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("incidents.view_incident") or not sees_secrets(user):
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
