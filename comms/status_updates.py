"""Posting what stakeholders are told: status updates and the first notice of an incident."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from comms import cadence
from comms.models import Phase, StatusUpdate
from comms.stakeholder_messages import fill, fill_all
from incidents import timeline
from incidents.models import Incident, PublicStatus, SeverityDefinition
from incidents.public_status import set_public_status
from project.queue import enqueue
from project.text import one_line

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 10_000
MAX_PUBLIC_TITLE = 200


class UpdateError(ValueError):
    """Input that cannot make a status update; `field` names what is wrong."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


FAN_OUT_TASK = "comms.tasks.fan_out"
FAN_OUT_AGAIN_AFTER = timedelta(seconds=30)  # an update handed out this long ago and not fanned out goes again


def _enqueue_fan_out(update_id):
    if enqueue(FAN_OUT_TASK, update_id, task_name=f"comms.fan_out:{update_id}") is not None:
        StatusUpdate.objects.filter(pk=update_id, fan_out_enqueued_at=None).update(fan_out_enqueued_at=timezone.now())


def hand_out_fan_outs(now=None):
    """Updates posted but not fanned out (the enqueue after posting was lost) go to the queue; returns how many."""
    now = now or timezone.now()
    waiting = StatusUpdate.objects.filter(
        Q(fan_out_enqueued_at__isnull=True) | Q(fan_out_enqueued_at__lt=now - FAN_OUT_AGAIN_AFTER),
        fanned_out_at=None,
        posted_at__lte=now - timedelta(seconds=2),
    )
    handed = 0
    for pk, enqueued_at in list(waiting.values_list("pk", "fan_out_enqueued_at")[:100]):
        claimed = StatusUpdate.objects.filter(pk=pk, fan_out_enqueued_at=enqueued_at).update(fan_out_enqueued_at=now)
        if claimed and enqueue(FAN_OUT_TASK, pk) is None:
            StatusUpdate.objects.filter(pk=pk).update(fan_out_enqueued_at=None)
            break  # the broker is down: the next tick tries again
        handed += claimed
    return handed


def _validate(*, phase, message, next_update_at, eta, now, service_status, public_title):
    if phase not in Phase.values:
        raise UpdateError(
            "phase",
            _("Unknown phase %(phase)s; expected one of %(choices)s.")
            % {
                "phase": phase,
                "choices": ", ".join(Phase.values),
            },
        )
    message = (message or "").strip()
    if not message:
        raise UpdateError("message", _("A status update needs a message."))
    if len(message) > MAX_MESSAGE_LENGTH:
        raise UpdateError("message", _("A status update is at most %(max)s characters.") % {"max": MAX_MESSAGE_LENGTH})
    if service_status and service_status not in PublicStatus.values:
        raise UpdateError(
            "service_status",
            _("Unknown service status %(status)s; expected one of %(choices)s.")
            % {"status": service_status, "choices": ", ".join(PublicStatus.values)},
        )
    if public_title is not None and len(" ".join(public_title.split())) > MAX_PUBLIC_TITLE:
        raise UpdateError(
            "public_title", _("A public title is at most %(max)s characters.") % {"max": MAX_PUBLIC_TITLE}
        )
    for field, value in (("next_update_at", next_update_at), ("eta", eta)):
        if value is None:
            continue
        if timezone.is_naive(value):
            raise UpdateError(field, _("Give a time zone with the time."))
        if value <= now:
            raise UpdateError(field, _("This time is in the past."))
    return message


def post(
    incident,
    *,
    phase,
    message,
    by=None,
    public=True,
    next_update_at=None,
    eta=None,
    now=None,
    kind=None,
    service_status="",
    public_title=None,
    texts=None,
):
    """Post a status update: stored as it will be shown, on the timeline, the cadence reset; delivered after commit.

    `service_status` sets the public status of the incident's service with the update; `public_title`
    (a person's words) names the incident on the status page; `texts` are the message in each language
    when Piquet wrote it from a template.
    """

    now = now or timezone.now()
    kind = kind or StatusUpdate.Kind.UPDATE
    message = _validate(
        phase=phase,
        message=message,
        next_update_at=next_update_at,
        eta=eta,
        now=now,
        service_status=service_status,
        public_title=public_title,
    )
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service").get(pk=incident.pk)
        definition = SeverityDefinition.for_severity(incident.severity)
        if phase == Phase.RESOLVED:
            next_update_at = None
        elif next_update_at is None and definition.update_cadence_minutes and incident.is_open:
            next_update_at = now + timedelta(minutes=definition.update_cadence_minutes)
        if public_title is not None and one_line(public_title, MAX_PUBLIC_TITLE) != incident.public_title:
            incident.public_title = one_line(public_title, MAX_PUBLIC_TITLE)
            incident.save(update_fields=["public_title"])
        if service_status:
            set_public_status(incident.service, service_status, by=by, at=now)
        update = StatusUpdate.objects.create(
            incident=incident,
            kind=kind,
            phase=phase,
            message=message,
            texts=texts or {},
            public=public,
            service_status=service_status or "",
            next_update_at=next_update_at,
            eta=eta,
            author=by,
            posted_at=now,
        )
        timeline.record(
            incident,
            timeline.Kind.STATUS_UPDATE,
            gettext_noop("%(kind)s (%(phase)s, %(visibility)s): %(message)s"),
            params={
                "kind": timeline.label(StatusUpdate.Kind(update.kind)),
                "phase": timeline.label(Phase(update.phase)),
                "visibility": timeline.translated(gettext_noop("public") if public else gettext_noop("internal")),
                "message": message[:500],
            },
            by=by,
            at=now,
            data={"update": update.pk, "next_update_at": next_update_at.isoformat() if next_update_at else None},
        )
        cadence.on_posted(incident, update, interval=definition.update_cadence_minutes, now=now)
        transaction.on_commit(lambda: _enqueue_fan_out(update.pk))
    logger.info("status update posted incident=%s update=%s phase=%s", incident.number, update.pk, phase)
    return update


def _written(purpose, incident, *, kind, public, now, service_status=""):
    """Post a template's text, written once in every language (what is shown later is what was sent)."""
    definition = SeverityDefinition.for_severity(incident.severity)
    minutes = definition.update_cadence_minutes
    next_update_at = now + timedelta(minutes=minutes) if minutes else None
    texts = fill_all(purpose, incident, next_update_at=next_update_at)
    try:
        return post(
            incident,
            phase=Phase.INVESTIGATING,
            message=texts[settings.LANGUAGE_CODE],
            texts=texts,
            public=public,
            next_update_at=next_update_at,
            now=now,
            kind=kind,
            service_status=service_status,
        )
    except IntegrityError:
        return None  # posted by a concurrent run


def first_notice(incident_id, *, now=None):
    """Tell the matching stakeholder groups that an incident process runs. Internal; once per incident.

    Where the incident's service publishes new incidents by itself (`auto_publish`), the status page also
    gets the public notice (see `public_notice`). Returns the first notice, or None.
    """

    now = now or timezone.now()
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    if incident is None:
        return None
    definition = SeverityDefinition.for_severity(incident.severity)
    cadence.ensure(incident, interval=definition.update_cadence_minutes)
    if not definition.inform_stakeholders or not incident.is_open:
        return None
    notice = None
    if not StatusUpdate.objects.filter(incident=incident).exists():  # else stakeholders have heard already
        notice = _written("first_notice", incident, kind=StatusUpdate.Kind.NOTICE, public=False, now=now)
    if incident.service.auto_publish:
        public_notice(incident, definition=definition, now=now)
    return notice


def internal_notice(incident, *, now=None):
    """The first notice, internal, whatever the severity says (a play asked for stakeholders to be told)."""
    return _written("first_notice", incident, kind=StatusUpdate.Kind.NOTICE, public=False, now=now or timezone.now())


def public_notice(incident, *, definition, now):
    """The automatic public notice of a service that opted in: its public name only, never the alert's words."""
    if StatusUpdate.objects.filter(incident=incident, public=True).exists():
        return None  # a person spoke publicly already
    return _written(
        "public_notice",
        incident,
        kind=StatusUpdate.Kind.PUBLIC_NOTICE,
        public=True,
        now=now,
        service_status=definition.proposed_status,
    )


def phase_templates(incident, language):
    """The starting text of an update for each phase, filled in for this incident."""

    minutes = SeverityDefinition.for_severity(incident.severity).update_cadence_minutes
    next_update_at = timezone.now() + timedelta(minutes=minutes) if minutes else None
    return {phase: fill(phase, incident, language, next_update_at=next_update_at) for phase in Phase.values}
