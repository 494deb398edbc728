from django.conf import settings
from django.contrib import admin, auth
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from project import sso
from project.passwords import LoginForm
from project.roles import MANAGERS


class PiquetAdminSite(admin.AdminSite):
    site_title = _("Piquet")
    site_header = _("Piquet")
    index_title = _("Incident response and on-call")
    login_form = LoginForm

    def login(self, request, extra_context=None):
        configured, problem = sso.sso_status()
        context = {
            "sso_configured": configured,
            "sso_unavailable": bool(problem),
            "password_login": settings.PIQUET_PASSWORD_LOGIN,
            **(extra_context or {}),
        }
        return super().login(request, extra_context=context)

    def logout(self, request, extra_context=None):
        # A person who came through SSO is signed out at the provider too, when it offers an end-session
        # endpoint: otherwise the next "Sign in with SSO" would let them straight back in.
        if request.method == "POST" and request.session.get("oidc_id_token"):
            target = sso.provider_logout_url(request)
            auth.logout(request)
            return HttpResponseRedirect(target)
        return super().logout(request, extra_context=extra_context)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records (timelines, deliveries, logs): visible, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def sees_secrets(user):
    """Whether a person may see secrets and others' addresses: Managers (and superusers) only."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_piquet_sees_secrets", None)
    if cached is None:
        cached = user._piquet_sees_secrets = user.groups.filter(name=MANAGERS).exists()
    return cached


class SecretsByNeed:
    """An admin (or inline) whose `secret_fields` (keys, tokens, addresses, provider answers) only those who
    need them see: Managers. Everyone else gets the page without those fields, columns and searches."""

    secret_fields = ()

    def sees_secrets(self, request, obj=None):
        return sees_secrets(request.user)

    def _without_secrets(self, names, request, obj=None):
        if self.sees_secrets(request, obj):
            return names
        return [name for name in names if name not in self.secret_fields]

    def get_fields(self, request, obj=None):
        return self._without_secrets(list(super().get_fields(request, obj)), request, obj)

    def get_readonly_fields(self, request, obj=None):
        return self._without_secrets(list(super().get_readonly_fields(request, obj)), request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.sees_secrets(request, obj):
            return fieldsets
        return [
            (name, {**opts, "fields": self._without_secrets(opts["fields"], request, obj)}) for name, opts in fieldsets
        ]

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        if not self.sees_secrets(request, obj):
            excluded += [name for name in self.secret_fields if name not in excluded]
        return excluded

    def get_list_display(self, request):
        return self._without_secrets(list(super().get_list_display(request)), request)

    def get_search_fields(self, request):
        fields = list(super().get_search_fields(request))
        if self.sees_secrets(request):
            return fields
        return [f for f in fields if f.lstrip("=^@").split("__")[-1] not in self.secret_fields]
