from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from project.audit_api import AuditTrailView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("", include("worker.urls")),
    path("admin/", admin.site.urls),
    # Where the password-reset links that Managers send lead.
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/audit/", AuditTrailView.as_view(), name="audit-trail"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("incidents.urls")),
    path("", include("people.urls")),
    path("", include("rotations.urls")),
    path("", include("comms.urls")),
    path("", include("releases.urls")),
    path("", include("reviews.urls")),
]
