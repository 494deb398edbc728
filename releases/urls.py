from releases.api.urls import urlpatterns

__all__ = ["urlpatterns"]
