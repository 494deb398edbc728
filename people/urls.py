from people.api.urls import urlpatterns as api_urlpatterns

urlpatterns = [*api_urlpatterns]
