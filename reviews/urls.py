from django.urls import include, path
from rest_framework.routers import SimpleRouter

from reviews.api import views

router = SimpleRouter()
router.register("reviews", views.ReviewViewSet, basename="review")
router.register("action-items", views.ActionItemViewSet, basename="action-item")

urlpatterns = [
    path("api/v1/incidents/<int:incident_pk>/review/", views.IncidentReviewView.as_view(), name="incident-review"),
    path(
        "api/v1/incidents/<int:incident_pk>/review.md",
        views.IncidentReviewMarkdownView.as_view(),
        name="incident-review-markdown",
    ),
    path("api/v1/", include(router.urls)),
]
