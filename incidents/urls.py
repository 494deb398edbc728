from incidents.api.urls import urlpatterns

__all__ = ["urlpatterns"]
