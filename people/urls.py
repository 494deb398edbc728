from django.urls import path
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCLogoutView

from people import sso
from people.api.urls import urlpatterns as api_urlpatterns

urlpatterns = [
    *api_urlpatterns,
    # Single sign-on (OpenID Connect): the provider sends the browser back to /oidc/callback/.
    path("oidc/authenticate/", sso.SignInView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", OIDCAuthenticationCallbackView.as_view(), name="oidc_authentication_callback"),
    # POST only; ends the session and, when the provider has an end-session endpoint, the provider's too.
    path("oidc/logout/", OIDCLogoutView.as_view(), name="oidc_logout"),
]
