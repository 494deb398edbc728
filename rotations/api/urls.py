from django.urls import include, path
from rest_framework.routers import SimpleRouter

from rotations.api import handoff_notes, swaps, views

router = SimpleRouter()
router.register("schedules", views.ScheduleViewSet, basename="schedule")
router.register("users", views.UserViewSet, basename="user")

children = SimpleRouter()
children.register("layers", views.LayerViewSet, basename="schedule-layer")
children.register("overrides", views.OverrideViewSet, basename="schedule-override")
children.register("handoff-notes", handoff_notes.HandoffNoteViewSet, basename="schedule-handoff-note")
children.register("swap-requests", swaps.SwapRequestViewSet, basename="schedule-swap-request")

urlpatterns = [
    path("api/v1/oncall/", views.OnCallView.as_view(), name="oncall"),
    path("api/v1/", include(router.urls)),
    path("api/v1/schedules/<int:schedule_pk>/", include(children.urls)),
]
