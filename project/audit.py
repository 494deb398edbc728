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
