from django.urls import path

from worker import views

urlpatterns = [path("healthz", views.healthz, name="healthz")]
