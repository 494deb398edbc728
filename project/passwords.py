"""Local passwords, which `PIQUET_PASSWORD_LOGIN=0` turns off when everyone signs in with SSO.

The break-glass path: superusers named in `PIQUET_BREAK_GLASS_USERS` keep their password, so that an
administrator can still get in while the identity provider is down or misconfigured.
"""

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def may_use_password(username, user=None):
    """Whether a password may sign this person in: always while passwords are on; else only a superuser
    named in PIQUET_BREAK_GLASS_USERS."""
    if settings.PIQUET_PASSWORD_LOGIN:
        return True
    if username not in settings.PIQUET_BREAK_GLASS_USERS:
        return False
    return user is None or user.is_superuser


class PasswordBackend(ModelBackend):
    """Django's username and password backend, silent for everyone a password may not sign in."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self.get_user_model_username_field())
        if not may_use_password(username):
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and not may_use_password(username, user):
            return None
        return user

    @staticmethod
    def get_user_model_username_field():
        return get_user_model().USERNAME_FIELD


class LoginForm(AdminAuthenticationForm):
    """The admin's login form, which says so plainly when passwords are off rather than "wrong password"."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "passwords_off": _("Password sign-in is turned off here: sign in with SSO."),
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is not None and not may_use_password(username):
            raise ValidationError(self.error_messages["passwords_off"], code="passwords_off")
        return super().clean()
