"""The audit trail: who created, changed or deleted which piece of configuration, with the fields before and after.

django-auditlog records it: each app registers its configuration models in
its `ready()` (secrets are kept as their last four characters only). In the
admin, the person logged in is the actor (its middleware); in the API, the
token's owner, set here once DRF has authenticated the request; a
management command acts as nobody (the entry has no actor).
"""

from auditlog.context import auditlog_value


def act_as(user):
    """Make `user` the actor of the audit entries the rest of this request writes."""
    try:
        context = auditlog_value.get()
    except LookupError:  # outside a request (a command, a test calling code directly)
        return
    context["actor"] = user


_scopes = []


def scope_entries(func):
    """Register `func(user, entries)`: the entries a person without the audit permission may read, or None."""
    _scopes.append(func)
    return func


def readable_entries(user, entries):
    """The audit entries a person may read: all of them with the permission (Managers, administrators), else
    what a registered scope allows (team managers: their teams'), else None."""
    if user.has_perm("auditlog.view_logentry"):
        return entries
    for scope in _scopes:
        limited = scope(user, entries)
        if limited is not None:
            return limited
    return None
