from django import template
from django.utils import timezone

from people.teams import visible
from rotations import oncall
from rotations.final_schedule import MAX_WINDOW
from rotations.models import Schedule

register = template.Library()


@register.inclusion_tag("rotations/oncall_now.html", takes_context=True)
def oncall_now(context):
    """Who is on call now and who is next on every schedule, the viewer's own schedules first (a fixed number
    of queries whatever the number of schedules)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("rotations.view_schedule"):
        return {"visible": False}
    now = timezone.now()
    schedules = oncall.load_plans(
        visible(Schedule.objects.order_by("name", "id"), user), start=now - MAX_WINDOW, end=now + MAX_WINDOW
    )
    rows = []
    for schedule in schedules:
        current, following = oncall.now_and_next(schedule, now)
        if following is not None and following.is_gap and following.end is not None:
            # Nobody for a while: who comes after the gap is who is next.
            after = oncall.now_and_next(schedule, following.end)[0]
            following = following if after.is_gap else after
        rows.append(
            {
                "schedule": schedule,
                "now": current,
                "next": following,
                "mine": user.pk in {getattr(s.user, "pk", None) for s in (current, following) if s is not None},
            }
        )
    rows.sort(key=lambda row: not row["mine"])  # stable: by name within mine and the others
    return {"visible": True, "rows": rows}
