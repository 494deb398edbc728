from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PiquetAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "project.admin.PiquetAdminSite"


class ProjectConfig(AppConfig):
    default = True
    name = "project"
    verbose_name = _("Piquet")

    def ready(self):
        from project import roles

        # Permissions exist only after every app has migrated, so the role
        # groups get theirs at the end of each `migrate`.
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="piquet-roles")
