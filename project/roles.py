"""The three roles of Piquet, as Django groups, and the permissions each holds.

The groups are created by a data migration; their permissions are synced after
every `migrate`, so models added later join the roles without a new migration.
"""

from django.apps import apps as global_apps

MANAGERS = "Managers"
RESPONDERS = "Responders"
STAKEHOLDERS = "Stakeholders"
ROLE_NAMES = (MANAGERS, RESPONDERS, STAKEHOLDERS)

# Apps whose models every role may read.
PIQUET_APPS = ("people", "incidents", "rotations", "comms", "releases")

# (app_label, model) pairs responders may change: they work incidents.
RESPONDER_MODELS = {
    ("incidents", "incident"): ("add", "change"),
    ("incidents", "timelineentry"): ("add",),
}

# Manager-owned configuration: everything in these apps but the incident log.
MANAGER_EXCLUDED = {("incidents", "incident"), ("incidents", "alert"), ("incidents", "timelineentry")}


# Managers look after people too (their contact methods and notification rules), and read the audit trail.
MANAGER_EXTRA = {("auth", "view_user"), ("auth", "add_user"), ("auth", "change_user"), ("auditlog", "view_logentry")}


def permissions_for(role):
    """Return the set of (app_label, codename) a role holds."""
    wanted = set(MANAGER_EXTRA) if role == MANAGERS else set()
    for app_label in PIQUET_APPS:
        try:
            app_config = global_apps.get_app_config(app_label)
        except LookupError:
            continue
        for model in app_config.get_models():
            model_name = model._meta.model_name
            key = (app_label, model_name)
            wanted.add((app_label, f"view_{model_name}"))
            if role in (RESPONDERS, MANAGERS):
                for action in RESPONDER_MODELS.get(key, ()):
                    wanted.add((app_label, f"{action}_{model_name}"))
            if role == MANAGERS and key not in MANAGER_EXCLUDED:
                for action in ("add", "change", "delete"):
                    wanted.add((app_label, f"{action}_{model_name}"))
            for codename, _name in model._meta.permissions:
                if role in model_custom_roles(model, codename):
                    wanted.add((app_label, codename))
    return wanted


def model_custom_roles(model, codename):
    """Roles holding a model's custom permission, declared as `role_permissions`."""
    return getattr(model, "role_permissions", {}).get(codename, ())


def sync_role_permissions(sender=None, using="default", **kwargs):
    """Give each role group exactly its permissions (creating a missing group). Idempotent.

    Runs after every `migrate` and `flush`, so the roles survive a database
    emptied by `flush` (as transactional tests do).
    """
    from django.contrib.auth.models import Group, Permission

    for role in ROLE_NAMES:
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = permissions_for(role)
        labels = {app for app, _codename in wanted}
        perms = Permission.objects.using(using).filter(content_type__app_label__in=labels)
        group.permissions.set(
            [p for p in perms.select_related("content_type") if (p.content_type.app_label, p.codename) in wanted]
        )
