from django import template
from django.utils import timezone

from rotations import oncall
from rotations.final_schedule import MAX_WINDOW
from rotations.models import Schedule

register = template.Library()


@register.inclusion_tag("rotations/oncall_now.html", takes_context=True)
def oncall_now(context):
    """Who is on call now on every schedule (a fixed number of queries)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("rotations.view_schedule"):
        return {"visible": False}
    now = timezone.now()
    schedules = oncall.load_plans(Schedule.objects.order_by("name", "id"), start=now - MAX_WINDOW, end=now + MAX_WINDOW)
    rows = []
    for schedule in schedules:
        answer = oncall.oncall(schedule, now)
        rows.append({"schedule": schedule, "users": answer.users, "source": answer.source, "shift": answer.shift})
    return {"visible": True, "rows": rows}
