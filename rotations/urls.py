from django.urls import path

from rotations import calendars
from rotations.api.policies import urlpatterns as policy_urlpatterns
from rotations.api.urls import urlpatterns as api_urlpatterns

app_name = "rotations"

urlpatterns = [
    *api_urlpatterns,
    *policy_urlpatterns,
    path("calendars/<str:token>.ics", calendars.feed, name="calendar-feed"),
]
