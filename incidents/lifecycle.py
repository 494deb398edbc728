"""Every change of an incident's state goes through one function here (opening one from alerts: see
incidents.opening).

Each function owns its transaction and writes, in that same transaction, its
timeline entry, whatever it makes due (a new incident's escalation, due now)
and the event that apps above incidents follow (`incidents.events`); it hands
work to the queue only after commit, which just speeds it up.
"""

import logging
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents import escalation, events, merging, opening, timeline
from incidents.models import (
    Escalation,
    Incident,
    IncidentEvent,
    IncidentType,
    Notification,
    Severity,
    Status,
    TimelineEntry,
    Urgency,
)
from project import rows
from project.api import ConflictError
from project.text import one_line

logger = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 10_000
MAX_REASON = 500  # why a severity changed: one line


class TransitionError(ConflictError):
    """The incident's current state does not allow this change."""


def _write(incident, kind, message, *, params=None, by=None, actor_name="", data=None, at=None):
    return timeline.record(incident, kind, message, params=params, by=by, actor_name=actor_name, data=data, at=at)


def declare(*, service, title, by, severity=Severity.SEV2, description=""):
    """A person opens an incident by hand (no monitoring alert)."""
    if severity not in Severity.values:
        raise ValueError(f"unknown severity {severity!r}")
    with transaction.atomic():
        now = timezone.now()
        incident = Incident.objects.create(
            service=service,
            dedup_key=f"declared-{uuid.uuid4().hex}",
            title=one_line(title, opening.MAX_TITLE),
            description=description,
            severity=severity,
            urgency=service.urgency_for(severity),
            created_at=now,
        )
        with rows.together():  # on PostgreSQL one statement: timeline entries, escalation, event, number
            _write(
                incident,
                TimelineEntry.Kind.DECLARED,
                gettext_noop("Declared: %(title)s"),
                params={"title": incident.title},
                by=by,
                at=now,
            )
            opening.begin(incident, now=now)
            opening.give_number(incident)  # the block's last write
    logger.info("incident declared number=%s service=%s by=%s", incident.number, service.slug, by)
    return incident


def acknowledge(incident, *, by=None, actor_name="", channel=""):
    """Someone is on it. Acknowledging twice changes nothing; a resolved incident cannot be.

    `channel` (an AckChannel: link, admin, API, SMS, voice, integration …) goes into the timeline entry's data,
    for the reports; entries written before channels were recorded have none ("unknown").
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Status.RESOLVED:
            raise TransitionError(
                _("Incident #%(number)s is already resolved and cannot be acknowledged.") % {"number": incident.number}
            )
        if incident.status == Status.ACKNOWLEDGED:
            return incident
        incident.status = Status.ACKNOWLEDGED
        incident.acknowledged_at = timezone.now()
        incident.acknowledged_by = by
        incident.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
        _write(
            incident,
            TimelineEntry.Kind.ACKNOWLEDGED,
            gettext_noop("Acknowledged"),
            params={},
            by=by,
            actor_name=actor_name,
            data={"channel": channel} if channel else None,
        )
        escalation.stop(incident, state=Escalation.State.ACKNOWLEDGED)
        escalation.notify_paged_people(incident, purpose=Notification.Purpose.ACKNOWLEDGED)
    logger.info("incident acknowledged number=%s by=%s", incident.number, by or actor_name)
    return incident


def resolve(incident, *, by=None, actor_name="", message="", params=None):
    """The incident is over. Resolving twice is an error. `message` with `params`: a msgid (see timeline.record)."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Status.RESOLVED:
            raise TransitionError(_("Incident #%(number)s is already resolved.") % {"number": incident.number})
        incident.status = Status.RESOLVED
        incident.resolved_at = timezone.now()
        incident.resolved_by = by
        incident.save(update_fields=["status", "resolved_at", "resolved_by"])
        if message:  # what the person wrote, shown as written, or a msgid with its params
            _write(incident, TimelineEntry.Kind.RESOLVED, message, params=params, by=by, actor_name=actor_name)
        else:
            _write(
                incident,
                TimelineEntry.Kind.RESOLVED,
                gettext_noop("Resolved"),
                params={},
                by=by,
                actor_name=actor_name,
            )
        escalation.stop(incident, state=Escalation.State.RESOLVED)
        escalation.notify_paged_people(incident, purpose=Notification.Purpose.RESOLVED)
        events.emit(incident, IncidentEvent.Kind.RESOLVED)
    logger.info("incident resolved number=%s by=%s", incident.number, by or actor_name)
    return incident


def add_note(incident, *, by, message):
    """A responder writes on the timeline."""
    message = (message or "").strip()
    if not message:
        raise ValueError(_("A note cannot be empty."))
    if len(message) > MAX_NOTE_LENGTH:
        raise ValueError(_("A note is at most %(max)s characters.") % {"max": MAX_NOTE_LENGTH})
    with transaction.atomic():
        return _write(incident, TimelineEntry.Kind.NOTE, message, by=by)


def change_severity(incident, *, severity, reason="", by=None, actor_name=""):
    """Raise or lower the incident's severity; stakeholder cadence and notices follow (an event).

    `reason` (one line, cut to MAX_REASON characters) goes on the timeline and in the event; people give one
    (the admin and the API require it), monitoring may not.
    """
    if severity not in Severity.values:
        raise ValueError(_("Unknown severity %(severity)s.") % {"severity": severity})
    reason = one_line(reason, MAX_REASON)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        old = incident.severity
        if old == severity:
            return incident
        incident.severity = severity
        incident.save(update_fields=["severity"])
        params = {"old": old, "new": severity}
        if reason:
            message = gettext_noop("Severity changed from %(old)s to %(new)s: %(reason)s")
            params["reason"] = reason
        else:
            message = gettext_noop("Severity changed from %(old)s to %(new)s")
        _write(
            incident,
            TimelineEntry.Kind.SEVERITY,
            message,
            params=params,
            by=by,
            actor_name=actor_name,
            data={"from": old, "to": severity, "reason": reason},
        )
        events.emit(incident, IncidentEvent.Kind.SEVERITY_CHANGED, old=old, new=severity, reason=reason)
        if incident.urgency == Urgency.LOW and incident.service.urgency_for(severity) == Urgency.HIGH:
            _set_urgency(
                incident,
                Urgency.HIGH,
                gettext_noop("Urgency raised to high with the severity."),
                {},
                by=by,
                actor_name=actor_name,
            )
    logger.info("incident severity number=%s from=%s to=%s", incident.number, old, severity)
    return incident


def change_type(incident, *, incident_type, by=None, actor_name=""):
    """Say what kind of trouble the incident is (blank: not set); plays for that type follow (an event)."""
    if incident_type and incident_type not in IncidentType.values:
        raise ValueError(
            _("Unknown incident type %(type)s; expected one of %(choices)s.")
            % {"type": incident_type, "choices": ", ".join(IncidentType.values)}
        )
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        old = incident.incident_type
        if old == incident_type:
            return incident
        incident.incident_type = incident_type
        incident.save(update_fields=["incident_type"])
        unset = timeline.translated(gettext_noop("not set"))
        _write(
            incident,
            TimelineEntry.Kind.INCIDENT_TYPE,
            gettext_noop("Type changed from %(old)s to %(new)s"),
            params={
                "old": timeline.label(IncidentType(old)) if old else unset,
                "new": timeline.label(IncidentType(incident_type)) if incident_type else unset,
            },
            by=by,
            actor_name=actor_name,
            data={"from": old, "to": incident_type},
        )
        events.emit(incident, IncidentEvent.Kind.TYPE_CHANGED, old=old, new=incident_type)
    logger.info("incident type number=%s from=%s to=%s", incident.number, old, incident_type)
    return incident


def _set_urgency(incident, urgency, message, params, *, by=None, actor_name=""):
    old = incident.urgency
    incident.urgency = urgency
    Incident.objects.filter(pk=incident.pk).update(urgency=urgency)
    _write(
        incident,
        TimelineEntry.Kind.URGENCY,
        message,
        params=params,
        by=by,
        actor_name=actor_name,
        data={"from": old, "to": urgency},
    )
    escalation.reconsider(incident)


def change_urgency(incident, *, urgency, reason, by=None, actor_name=""):
    """A person makes the incident high urgency (it pages now, at any hour) or low (it waits for support hours
    before its next step), saying why."""
    if urgency not in Urgency.values:
        raise ValueError(_("Unknown urgency %(urgency)s; use high or low.") % {"urgency": urgency})
    reason = one_line(reason, MAX_REASON)
    if not reason:
        raise ValueError(_("Say why the urgency changes."))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service").get(pk=incident.pk)
        if incident.urgency == urgency:
            return incident
        if incident.status == Status.RESOLVED:
            raise TransitionError(_("A resolved incident keeps its urgency."))
        old = incident.urgency
        _set_urgency(
            incident,
            urgency,
            gettext_noop("Urgency changed from %(old)s to %(new)s: %(reason)s"),
            {"old": old, "new": urgency, "reason": reason},
            by=by,
            actor_name=actor_name,
        )
    logger.info("incident urgency number=%s to=%s", incident.number, urgency)
    return incident


def escalate(incident, *, by=None, actor_name=""):
    """Fire the next step of the call chain now.

    An acknowledged incident goes back to triggered: whoever acknowledged asks
    for help. A resolved incident cannot be escalated; nor one without a chain.
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Status.RESOLVED:
            raise TransitionError(
                _("Incident #%(number)s is resolved and cannot be escalated.") % {"number": incident.number}
            )
        chain = Escalation.objects.select_for_update().filter(incident=incident).first()
        if chain is None and not getattr(incident.service, "escalation_policy_id", None):
            raise TransitionError(
                _("The service of incident #%(number)s has no escalation policy.") % {"number": incident.number}
            )
        if incident.status == Status.ACKNOWLEDGED:
            incident.status = Status.TRIGGERED
            incident.save(update_fields=["status"])
        if chain is not None and chain.state != Escalation.State.RUNNING:
            if chain.state == Escalation.State.EXHAUSTED:
                # An exhausted chain runs one more round.
                chain.snapshot = {**chain.snapshot, "repeat": chain.repeat + 1}
            chain.state = Escalation.State.RUNNING
            chain.save(update_fields=["state", "snapshot"])
        _write(
            incident,
            TimelineEntry.Kind.ESCALATED,
            gettext_noop("Escalated"),
            params={},
            by=by,
            actor_name=actor_name,
        )
    if chain is None:
        escalation.start(incident.pk)
    else:
        escalation.advance(chain.pk, force=True, by=by or actor_name)
    logger.info("incident escalated number=%s by=%s", incident.number, by or actor_name)
    return Incident.objects.get(pk=incident.pk)


def merge(incident, *, into, by=None):
    """Merge a duplicate into the incident that carries on: `incident` is resolved as merged into `into`.

    Its alerts and their count move to `into`, its call chain stops and its pending pages are cancelled (as
    any resolution does; so does its stakeholder cadence), both timelines link to each other, and later
    alerts with its dedup key join `into` while `into` is open. `into` changes nothing else: its stakeholders
    hear nothing new. Both must be open: a resolved incident's alerts are history and its key already opens
    new incidents, and a resolved target would swallow live alerts with nobody paged. Returns `into`.
    """
    if incident.pk == into.pk:
        raise TransitionError(_("An incident cannot be merged into itself."))
    with transaction.atomic():
        source, target = merging.lock_both(incident, into)
        for locked in (source, target):
            if locked.status == Status.RESOLVED:
                raise TransitionError(
                    _("Incident #%(number)s is resolved: only open incidents are merged.") % {"number": locked.number}
                )
        moved = merging.move_alerts(source, target)
        merging.carry_keys(source, target)
        merging.link(source, target, by=by, moved=moved)
        resolve(source, by=by)
    logger.info("incident merged number=%s into=%s alerts=%s by=%s", source.number, target.number, moved, by)
    return Incident.objects.get(pk=target.pk)
