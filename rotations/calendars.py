"""iCalendar (RFC 5545) feeds of the final schedule, per schedule and per person."""

from datetime import UTC, timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from icalendar import Calendar, Event

from rotations import oncall
from rotations.models import CalendarFeed, Schedule

PAST = timedelta(days=7)
FUTURE = timedelta(days=90)


def feed_window(now=None):
    now = now or timezone.now()
    return now - PAST, now + FUTURE


def _event(schedule, segment, stamp):
    event = Event()
    start = segment.start.astimezone(UTC)
    end = segment.end.astimezone(UTC)
    event.add("uid", f"piquet-{schedule.pk}-{segment.user.pk}-{start:%Y%m%dT%H%M%SZ}@{_host()}")
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", _("On call: %(schedule)s") % {"schedule": schedule.name})
    name = segment.user.get_full_name() or segment.user.get_username()
    event.add("description", _("%(name)s is on call (%(source)s).") % {"name": name, "source": segment.source})
    event.add("transp", "TRANSPARENT")
    return event


def _host():
    return settings.PIQUET_BASE_URL.split("://", 1)[-1].split("/", 1)[0] or "piquet"


def build_calendar(feed, *, now=None):
    """The feed's calendar: final shifts from 7 days ago to 90 days ahead."""
    now = now or timezone.now()
    start, end = feed_window(now)
    stamp = now.astimezone(UTC).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("prodid", "-//Piquet//On-call schedules//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if feed.schedule_id:
        schedule = oncall.prefetch_for_oncall(Schedule.objects.filter(pk=feed.schedule_id), start=start, end=end).get()
        calendar.add("x-wr-calname", _("On call: %(schedule)s") % {"schedule": schedule.name})
        pairs = [(schedule, s) for s in oncall.shifts(schedule, start, end) if not s.is_gap]
    else:
        name = feed.user.get_full_name() or feed.user.get_username()
        calendar.add("x-wr-calname", _("On call: %(name)s") % {"name": name})
        pairs = oncall.shifts_for_user(feed.user, start, end)
    for schedule, segment in pairs:
        calendar.add_component(_event(schedule, segment, stamp))
    return calendar


@require_GET
def feed(request, token):
    """The calendar at a secret URL; no login (calendar apps cannot log in)."""
    if not token or len(token) > 64:
        raise Http404
    feed = get_object_or_404(CalendarFeed.objects.select_related("schedule", "user"), token=token)
    response = HttpResponse(build_calendar(feed).to_ical(), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
