from django.urls import include, path
from rest_framework.routers import SimpleRouter

from comms import status_views
from comms.api import plays as api_plays
from comms.api import stakeholders as api_stakeholders
from comms.feeds import StatusFeed

groups = SimpleRouter()
groups.register("stakeholder-groups", api_stakeholders.StakeholderGroupViewSet, basename="stakeholder-group")
groups.register("plays", api_plays.PlayViewSet, basename="play")

updates = SimpleRouter()
updates.register("status-updates", api_stakeholders.StatusUpdateViewSet, basename="incident-status-update")

urlpatterns = [
    path("api/v1/", include(groups.urls)),
    path("api/v1/incidents/<int:incident_pk>/", include(updates.urls)),
    path("api/v1/status/", api_stakeholders.PublicStatusView.as_view(), name="status-api"),
    path("status/", status_views.index, name="status-index"),
    path("status/feed/", StatusFeed(), name="status-feed"),
    path("status/incidents/<int:number>/", status_views.incident, name="status-incident"),
    path("status/subscribe/", status_views.subscribe, name="status-subscribe"),
    path("status/confirm/<str:token>/", status_views.confirm, name="status-confirm"),
    path("status/unsubscribe/<str:token>/", status_views.unsubscribe, name="status-unsubscribe"),
]
