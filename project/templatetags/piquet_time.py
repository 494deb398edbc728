"""One way to show an instant: in the viewer's time zone, with the zone named, and how long ago it was.

The active time zone is the viewer's (people.middleware); `piquet_time` and `ago` are the template filters, and
`format_instant` / `format_age` the same for Python code such as admin columns.
"""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext, ngettext

register = template.Library()

INSTANT_FORMAT = "%Y-%m-%d %H:%M %Z"


def format_instant(value):
    """`value` on the active zone's wall clock, e.g. "2026-12-02 01:59 CET"; "" for no value."""
    if not isinstance(value, datetime):
        return "" if value in (None, "") else value
    if timezone.is_naive(value):
        return value.strftime("%Y-%m-%d %H:%M")
    return timezone.localtime(value).strftime(INSTANT_FORMAT)


def format_age(value, now=None):
    """How far `value` is from now, e.g. "12 min ago", "in 5 min"; "" for no value."""
    if not isinstance(value, datetime):
        return ""
    seconds = int(((now or timezone.now()) - value).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        return gettext("just now")
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        past_text = ngettext("%(count)d min ago", "%(count)d min ago", minutes)
        future_text = ngettext("in %(count)d min", "in %(count)d min", minutes)
        count = minutes
    elif hours < 48:
        past_text = ngettext("%(count)d hour ago", "%(count)d hours ago", hours)
        future_text = ngettext("in %(count)d hour", "in %(count)d hours", hours)
        count = hours
    else:
        past_text = ngettext("%(count)d day ago", "%(count)d days ago", days)
        future_text = ngettext("in %(count)d day", "in %(count)d days", days)
        count = days
    return (future_text if future else past_text) % {"count": count}


@register.filter
def piquet_time(value):
    return format_instant(value)


@register.filter
def ago(value):
    return format_age(value)
