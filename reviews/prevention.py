"""From lesson to prevention: a deployment that contributed to an incident proposes a recurring freeze.

The proposal is the release window admin's add form, prefilled (GET parameters): a freeze of the
deployment's service on its weekday and part of the day, in the zone of the person who asks, disabled
until they look at it, change it if they want, and save it.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from people.models import profile_of
from project.clock import ClockError, get_zone
from releases.models import ReleaseWindow

# Parts of the day, as (first hour, hour after the last, name): a freeze covers the part a deploy fell in.
DAY_PARTS = (
    (0, 8, gettext_noop("nights")),
    (8, 12, gettext_noop("mornings")),
    (12, 18, gettext_noop("afternoons")),
    (18, 24, gettext_noop("evenings")),
)
WEEKDAYS = (
    gettext_noop("Monday"),
    gettext_noop("Tuesday"),
    gettext_noop("Wednesday"),
    gettext_noop("Thursday"),
    gettext_noop("Friday"),
    gettext_noop("Saturday"),
    gettext_noop("Sunday"),
)


def _zone_name(user):
    name = (profile_of(user).time_zone if user is not None else "") or settings.TIME_ZONE
    try:
        get_zone(name)
    except ClockError:
        return settings.TIME_ZONE
    return name


def release_window_draft(deployment, *, review, user=None):
    """The release window fields proposed by a contributing deployment (strings, as a form receives them)."""
    zone_name = _zone_name(user)
    local = timezone.localtime(deployment.deployed_at, get_zone(zone_name))
    first, after, part = next(p for p in DAY_PARTS if p[0] <= local.hour < p[1])
    weekday = local.weekday()  # Monday 0; cron counts Sunday 0
    cron_day = (weekday + 1) % 7
    end_day = cron_day if after < 24 else (cron_day + 1) % 7
    service = deployment.service
    name = _("No deploys of %(service)s on %(weekday)s %(part)s") % {
        "service": service.name,
        "weekday": _(WEEKDAYS[weekday]),
        "part": _(part),
    }
    message = _(
        "Proposed by the review of incident #%(number)s: a deploy at this time was part of what allowed it."
    ) % {"number": review.incident.number}
    return {
        "name": name[:200],
        "kind": ReleaseWindow.Kind.DENY,
        "enforcement": ReleaseWindow.Enforcement.HARD,
        "time_zone": zone_name,
        "services": str(service.pk),
        "start_cron": f"0 {first} * * {cron_day}",
        "end_cron": f"0 {after % 24} * * {end_day}",
        "message": message,
        "enabled": "",  # off until the person has looked at it
        **({"team": str(service.team_id)} if service.team_id else {}),
    }


def release_window_draft_url(deployment, *, review, user=None):
    """The release window add form, prefilled with the proposal."""
    fields = release_window_draft(deployment, review=review, user=user)
    return reverse("admin:releases_releasewindow_add") + "?" + urlencode(fields)
