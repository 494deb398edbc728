"""The three roles of Piquet, as Django groups, and the permissions each holds.

The groups are created by a data migration; their permissions are synced after
every `migrate`, so models added later join the roles without a new migration.
"""

from django.apps import apps as global_apps

MANAGERS = "Managers"
RESPONDERS = "Responders"
STAKEHOLDERS = "Stakeholders"
ROLE_NAMES = (MANAGERS, RESPONDERS, STAKEHOLDERS)

# Our apps: Managers and Responders read their models (but for plumbing and records, below).
PIQUET_APPS = ("people", "incidents", "rotations", "comms", "releases", "reviews")

# (app_label, model) pairs responders may change: they work incidents.
RESPONDER_MODELS = {
    ("incidents", "incident"): ("add", "change"),
    # They write the reviews of the incidents they see, and follow up on the action items.
    ("reviews", "review"): ("add", "change"),
    ("reviews", "actionitem"): ("add", "change", "delete"),
}

# Manager-owned configuration: everything in these apps but the incident log (and the records, below).
# An incident's tasks and play runs change only through the checklist and the plays, on the incident page.
MANAGER_EXCLUDED = {("incidents", "incident"), ("incidents", "incidenttask"), ("incidents", "playrun")}

# Plumbing: machinery and raw tables, off the admin index of everyone but superusers (who find them under
# "System"), and their admin pages refuse everyone else (project.admin) but the Managers named here.
PLUMBING_APPS = ("authtoken", "django_q", "axes")  # no role holds a permission on these
# (app_label, model) → (roles that read the rows where they are shown: the incident page, the API, the dashboard;
# whether Managers may also open the table's admin pages). No role holds add, change or delete on them.
RECORDS = {
    ("auth", "group"): ((), False),
    ("auth", "permission"): ((), False),
    ("incidents", "alert"): ((), False),  # on the incident page
    ("incidents", "timelineentry"): ((MANAGERS, RESPONDERS), True),  # the incident page and its API
    ("incidents", "notification"): ((MANAGERS,), True),  # failed deliveries, from the dashboard
    ("comms", "delivery"): ((MANAGERS,), True),  # stakeholder deliveries
    ("incidents", "notice"): ((MANAGERS,), True),  # heads-ups, swap requests, reminders
    ("incidents", "shiftcheck"): ((), False),  # when the worker next looks at the schedules
    ("incidents", "incidentrole"): ((MANAGERS, RESPONDERS, STAKEHOLDERS), True),  # who leads the incident
    # Who was asked to help, and what they answered: the incident page and its API.
    ("incidents", "responderrequest"): ((MANAGERS, RESPONDERS), False),
    ("incidents", "responderescalation"): ((MANAGERS, RESPONDERS), False),
}
# The incident page's note form and the API's POST of a note are allowed by this one.
NOTE_PERMISSION = ("incidents", "add_timelineentry")

# Stakeholders read incidents and the updates written for them (and who leads, above); nothing else: no review
# (its published public summary reaches them on the status page).
STAKEHOLDER_MODELS = {("incidents", "incident"), ("comms", "statusupdate")}


def is_plumbing(app_label, model_name):
    """Whether a model is plumbing: kept off the index of everyone but superusers."""
    return app_label in PLUMBING_APPS or (app_label, model_name) in RECORDS


def managers_open(app_label, model_name):
    """Whether Managers may open a plumbing model's admin pages (superusers always may)."""
    return RECORDS.get((app_label, model_name), ((), False))[1]


# Managers look after people too (their contact methods and notification rules), and read the audit trail.
MANAGER_EXTRA = {("auth", "view_user"), ("auth", "add_user"), ("auth", "change_user"), ("auditlog", "view_logentry")}


def permissions_for(role):
    """Return the set of (app_label, codename) a role holds."""
    wanted = set(MANAGER_EXTRA) if role == MANAGERS else set()
    if role in (RESPONDERS, MANAGERS):
        wanted.add(NOTE_PERMISSION)
    for app_label in PIQUET_APPS:
        try:
            app_config = global_apps.get_app_config(app_label)
        except LookupError:
            continue
        for model in app_config.get_models():
            model_name = model._meta.model_name
            key = (app_label, model_name)
            for codename, _name in model._meta.permissions:
                if role in model_custom_roles(model, codename):
                    wanted.add((app_label, codename))
            if key in RECORDS:
                if role in RECORDS[key][0]:
                    wanted.add((app_label, f"view_{model_name}"))
                continue
            if role == STAKEHOLDERS:
                if key in STAKEHOLDER_MODELS:
                    wanted.add((app_label, f"view_{model_name}"))
                continue
            wanted.add((app_label, f"view_{model_name}"))
            for action in RESPONDER_MODELS.get(key, ()):
                wanted.add((app_label, f"{action}_{model_name}"))
            if role == MANAGERS and key not in MANAGER_EXCLUDED:
                for action in ("add", "change", "delete"):
                    wanted.add((app_label, f"{action}_{model_name}"))
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
