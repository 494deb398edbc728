"""API tokens that also put the answer on the person's clock."""

from django.utils import timezone

from people.middleware import viewer_zone
from project.api import TokenAuthentication


class PersonTokenAuthentication(TokenAuthentication):
    """A request signed with a person's token gets its times in their time zone (Profile.time_zone, else
    TIME_ZONE), as a signed-in page does; ViewerTimeZoneMiddleware puts the zone back after the request."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is not None:
            timezone.activate(viewer_zone(found[0]))
        return found
