from django.urls import include, path
from rest_framework.routers import SimpleRouter

from people.api import teams, views

router = SimpleRouter()
router.register("contact-methods", views.ContactMethodViewSet, basename="user-contact-method")
router.register("notification-rules", views.NotificationRuleViewSet, basename="user-notification-rule")

teams_router = SimpleRouter()
teams_router.register("teams", teams.TeamViewSet, basename="team")
members = SimpleRouter()
members.register("members", teams.TeamMemberViewSet, basename="team-member")

urlpatterns = [
    path("api/v1/", include(teams_router.urls)),
    path("api/v1/teams/<int:team_pk>/", include(members.urls)),
    path("api/v1/users/<int:user_pk>/profile/", views.ProfileView.as_view(), name="user-profile"),
    path("api/v1/users/<int:user_pk>/", include(router.urls)),
]
