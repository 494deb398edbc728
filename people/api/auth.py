"""API tokens that also put the answer on the person's clock."""

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions

from people.middleware import viewer_zone
from project.api import TokenAuthentication


class PersonTokenAuthentication(TokenAuthentication):
    """A request signed with a person's token gets its times in their time zone (Profile.time_zone, else
    TIME_ZONE), as a signed-in page does; ViewerTimeZoneMiddleware puts the zone back after the request."""

    def authenticate_credentials(self, key):
        """DRF's, with the person's profile read in the same query (their zone costs no query of its own)."""
        token = self.get_model().objects.select_related("user", "user__piquet_profile").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is not None:
            timezone.activate(viewer_zone(found[0]))
        return found
