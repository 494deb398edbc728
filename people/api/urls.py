from django.urls import include, path
from rest_framework.routers import SimpleRouter

from people.api import views

router = SimpleRouter()
router.register("contact-methods", views.ContactMethodViewSet, basename="user-contact-method")
router.register("notification-rules", views.NotificationRuleViewSet, basename="user-notification-rule")

urlpatterns = [
    path("api/v1/users/<int:user_pk>/profile/", views.ProfileView.as_view(), name="user-profile"),
    path("api/v1/users/<int:user_pk>/", include(router.urls)),
]
