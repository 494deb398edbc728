"""Times are shown to a person in their own time zone (Profile.time_zone), else the installation's."""

from django.conf import settings
from django.utils import timezone

from people.models import profile_of
from project.clock import ClockError, get_zone
from project.middleware import from_machine


def viewer_zone(user):
    """The zone a signed-in person reads times in; read once per user object (one query at most)."""
    zone = getattr(user, "_piquet_zone", None)
    if zone is None:
        try:
            zone = get_zone(profile_of(user).time_zone or settings.TIME_ZONE)
        except ClockError:
            zone = get_zone(settings.TIME_ZONE)
        user._piquet_zone = zone
    return zone


class ViewerTimeZoneMiddleware:
    """Activates the viewer's time zone for the request (after AuthenticationMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # From a machine there is no session: asking for the user would only build an anonymous one. An API
        # token may still activate its person's zone (people.api.auth): it is put back below either way.
        user = None if from_machine(request) else getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(viewer_zone(user))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
