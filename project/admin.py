import functools

from django.conf import settings
from django.contrib import admin, auth
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from project import sso
from project.passwords import LoginForm
from project.roles import MANAGERS, is_plumbing, managers_open

# The apps in the order people use them: work incidents, review them, keep schedules, plan releases, tell
# stakeholders, look after people; then whatever else is installed, by name.
APP_ORDER = ("incidents", "reviews", "rotations", "releases", "comms", "people", "auth", "auditlog")
SYSTEM = "system"


class PiquetAdminSite(admin.AdminSite):
    site_title = _("Piquet")
    site_header = _("Piquet")
    index_title = _("Incident response and on-call")
    login_form = LoginForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pages = []

    def add_page(self, *, app_label, name, url_name, allowed):
        """List a custom admin page (a report, a console) under an app on the index, for the people
        `allowed(user)` lets in; apps register theirs with their admin."""
        self.pages.append({"app_label": app_label, "name": name, "url_name": url_name, "allowed": allowed})

    def _pages_for(self, request, label):
        return [
            {
                "name": page["name"],
                "object_name": page["url_name"].rsplit("_", 1)[-1].capitalize(),
                "admin_url": reverse(f"{self.name}:{page['url_name']}", current_app=self.name),
                "add_url": None,
                "view_only": True,
                "perms": {"view": True},
            }
            for page in self.pages
            if page["app_label"] == label and page["allowed"](request.user)
        ]

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

    def admin_view(self, view, cacheable=False):
        """Every page of a plumbing model (project.roles) refuses everyone but superusers and, for the records
        they read, Managers, whatever permission a role holds to read those rows elsewhere (the API, the
        incident page)."""
        model_admin = getattr(view, "__self__", None)
        if isinstance(model_admin, admin.ModelAdmin):
            meta = model_admin.model._meta
            if is_plumbing(meta.app_label, meta.model_name):
                view = _plumbing_page(view, meta)
        return super().admin_view(view, cacheable)

    def get_app_list(self, request, app_label=None):
        """The apps in the order of APP_ORDER. Plumbing (tokens, background tasks, raw tables) is gathered under
        one "System" heading, last, for superusers, and left out for everyone else (roles.PLUMBING closes its
        pages too); an app where a person's role holds no permission is left out (self-service pages stay
        reachable from the user menu)."""
        user = request.user
        superuser = user.is_active and user.is_superuser
        system = []
        app_list = []
        for app in self._build_app_dict(request, app_label).values():
            label = app["app_label"]
            if not superuser and not user.has_module_perms(label):
                continue
            models = []
            for model in app["models"]:
                if not is_plumbing(label, model["model"]._meta.model_name):
                    models.append(model)
                elif superuser and app_label is None:
                    system.append(
                        {**model, "name": _("%(model)s (%(app)s)") % {"model": model["name"], "app": app["name"]}}
                    )
                elif superuser:
                    models.append(model)
            models += self._pages_for(request, label)
            if models:
                models.sort(key=lambda model: model["name"])
                app_list.append({**app, "models": models})
        app_list.sort(key=_app_position)
        if system:
            system.sort(key=lambda model: str(model["name"]).lower())
            app_list.append(
                {
                    "name": _("System"),
                    "app_label": SYSTEM,
                    "app_url": reverse("admin:index", current_app=self.name) + "#" + SYSTEM,
                    "has_module_perms": True,
                    "models": system,
                }
            )
        return app_list


def may_open_plumbing(user, meta):
    return user.is_superuser or (managers_open(meta.app_label, meta.model_name) and sees_secrets(user))


def _plumbing_page(view, meta):
    @functools.wraps(view)
    def refusing(request, *args, **kwargs):
        if not may_open_plumbing(request.user, meta):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return refusing


def _app_position(app):
    label = app["app_label"]
    known = APP_ORDER.index(label) if label in APP_ORDER else len(APP_ORDER)
    return (known, str(app["name"]).lower())


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
