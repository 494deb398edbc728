"""Assigning the roles of an incident: commander, communications lead, scribe."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents import events, timeline
from incidents.models import Incident, IncidentEvent, IncidentRole, PlayRun, SeverityDefinition
from people.models import display_name

logger = logging.getLogger(__name__)


def assign(incident, *, role, user, by=None, now=None):
    """Give `role` on the incident to `user` (replacing whoever held it); on the timeline; the person is told
    (an event that comms follows).

    Assigning the same person again changes nothing. Returns the IncidentRole.
    """
    if role not in IncidentRole.Role.values:
        raise ValueError(
            _("Unknown role %(role)s; expected one of %(choices)s.")
            % {"role": role, "choices": ", ".join(IncidentRole.Role.values)}
        )
    if not user.is_active:
        raise ValueError(_("%(name)s is not an active user.") % {"name": display_name(user)})
    now = now or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        current = IncidentRole.objects.filter(incident=incident, role=role).select_related("user").first()
        if current is not None and current.user_id == user.pk:
            return current
        params = {"name": display_name(user), "role": timeline.label(IncidentRole.Role(role))}
        if current is None:
            holder = IncidentRole.objects.create(
                incident=incident, role=role, user=user, assigned_by=by, assigned_at=now
            )
            message = gettext_noop("%(name)s is now %(role)s.")
        else:
            previous = current.user
            IncidentRole.objects.filter(pk=current.pk).update(user=user, assigned_by=by, assigned_at=now)
            holder = IncidentRole.objects.get(pk=current.pk)
            message = gettext_noop("%(name)s is now %(role)s, taking over from %(previous)s.")
            params["previous"] = display_name(previous)
        timeline.record(
            incident,
            timeline.Kind.ROLE,
            message,
            params=params,
            by=by,
            at=now,
            data={"role": role, "user": user.pk, "previous": current.user_id if current else None},
        )
        events.emit(
            incident, IncidentEvent.Kind.ROLE_ASSIGNED, role=role, user=user.pk, holder=holder.pk, at=now.isoformat()
        )
    logger.info("incident role incident=%s role=%s user=%s", incident.number, role, user.pk)
    return holder


def holders(incident):
    """{role: IncidentRole} of an incident."""
    return {r.role: r for r in IncidentRole.objects.filter(incident=incident).select_related("user")}


def required(incident, definition=None):
    """The roles the incident must have filled: its severity's, then those the plays that ran on it ask for."""
    definition = definition or SeverityDefinition.for_severity(incident.severity)
    wanted = list(definition.required_roles or [])
    for asked in PlayRun.objects.filter(incident=incident).values_list("roles", flat=True):
        wanted += [role for role in asked or [] if role not in wanted and role in IncidentRole.Role.values]
    return wanted
