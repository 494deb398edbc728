from django.urls import include, path
from rest_framework.routers import SimpleRouter

from releases.api import views

router = SimpleRouter()
router.register("windows", views.ReleaseWindowViewSet, basename="release-window")
router.register("exceptions", views.FreezeExceptionViewSet, basename="freeze-exception")
router.register("deployments", views.DeploymentViewSet, basename="deployment")

urlpatterns = [
    path("api/v1/releases/gate/", views.GateView.as_view(), name="release-gate"),
    path("api/v1/releases/", include(router.urls)),
    path("v2/change/enqueue", views.ChangeEventView.as_view(), name="change-events-enqueue"),
]
