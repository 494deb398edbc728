from django.urls import include, path
from rest_framework.routers import SimpleRouter

from comms import api

router = SimpleRouter()
router.register("contact-methods", api.ContactMethodViewSet, basename="user-contact-method")
router.register("notification-rules", api.NotificationRuleViewSet, basename="user-notification-rule")

urlpatterns = [
    path("api/v1/users/<int:user_pk>/", include(router.urls)),
]
