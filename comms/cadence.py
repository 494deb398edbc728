"""The update cadence: stakeholders get the next update on time, or someone is reminded.

Each incident has one `UpdateCadence` row saying when the next update is due.
When it passes without an update, the communications lead (else the
commander, else whoever was paged) is reminded; one interval later they are
reminded again and the commander is told. Posting an update resets the row;
a resolved incident gets no more reminders but one prompt for a final update.
`tick(now)`, called by the worker's ticker, finds due rows and claims each
with a compare-and-set, so several workers remind once.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from comms import stakeholders
from comms.models import Delivery, Phase, StatusUpdate, UpdateCadence
from incidents import timeline
from incidents.models import IncidentRole, Page, SeverityDefinition, Status
from people.models import display_name

logger = logging.getLogger(__name__)

TICK_BATCH = 200
FALLBACK_INTERVAL = 30  # minutes between reminders when the severity has no cadence


def ensure(incident, *, interval):
    """The incident's cadence row, counting from its creation. Idempotent."""
    due = incident.created_at + timedelta(minutes=interval) if interval and incident.is_open else None
    row, _created = UpdateCadence.objects.get_or_create(
        incident=incident,
        defaults={"interval_minutes": interval, "due_at": due, "check_at": due, "severity": incident.severity},
    )
    return row


def on_posted(incident, update, *, interval, now):
    """An update was posted (inside its transaction): the next one is due at its `next_update_at`."""
    due = update.next_update_at if incident.is_open and update.phase != Phase.RESOLVED else None
    UpdateCadence.objects.update_or_create(
        incident=incident,
        defaults={
            "interval_minutes": interval,
            "due_at": due,
            "check_at": due,
            "stage": 0,
            "severity": incident.severity,
        },
    )


def reminder_targets(incident):
    """(people, who they are): the communications lead, else the commander, else the people paged last."""

    holders = {r.role: r.user for r in IncidentRole.objects.filter(incident=incident).select_related("user")}
    if IncidentRole.Role.COMMUNICATIONS in holders:
        return [holders[IncidentRole.Role.COMMUNICATIONS]], "communications", holders
    if IncidentRole.Role.COMMANDER in holders:
        return [holders[IncidentRole.Role.COMMANDER]], "commander", holders
    last = Page.objects.filter(incident=incident).order_by("-round", "-step").first()
    if last is None:
        return [], "paged", holders
    pages = Page.objects.filter(incident=incident, round=last.round, step=last.step).select_related("user")
    return [p.user for p in pages], "paged", holders


def _names(users):
    return ", ".join(display_name(u) for u in users)


def remind(row_id, *, stage, now):
    """Send reminder `stage` (1 or 2) for a cadence row that was just claimed."""

    with transaction.atomic():
        row = UpdateCadence.objects.select_related("incident", "incident__service").get(pk=row_id)
        incident = row.incident
        people, who, holders = reminder_targets(incident)
        due_iso = row.due_at.isoformat()
        key = f"reminder:{incident.pk}:{int(row.due_at.timestamp())}:{stage}"
        data = {"due_at": due_iso, "stage": stage, "to": who}
        for user in people:
            stakeholders.create_for_person(
                user=user, key=key, purpose=Delivery.Purpose.REMINDER, incident=incident, data=data, now=now
            )
        roles = {
            "communications": gettext_noop("communications lead"),
            "commander": gettext_noop("commander"),
            "paged": gettext_noop("paged"),
        }
        if not people:
            message = gettext_noop(
                "Stakeholder update overdue since %(due)s, and nobody to remind: assign a commander."
            )
        elif stage == 1:
            message = gettext_noop("Stakeholder update overdue since %(due)s: reminded %(names)s (%(who)s).")
        else:
            message = gettext_noop(
                "Stakeholder update still overdue since %(due)s: reminded %(names)s (%(who)s) again."
            )
        timeline.record(
            incident,
            timeline.Kind.UPDATE_REMINDER,
            message,
            params={
                "due": timezone.localtime(row.due_at).strftime("%H:%M"),
                "names": _names(people),
                "who": timeline.translated(roles[who]),
            },
            at=now,
            data={**data, "people": [u.pk for u in people]},
        )
        commander = holders.get("commander")
        if stage == 2 and commander is not None:
            told_key = f"reminder:{incident.pk}:{int(row.due_at.timestamp())}:commander"
            stakeholders.create_for_person(
                user=commander,
                key=told_key,
                purpose=Delivery.Purpose.REMINDER,
                incident=incident,
                data={**data, "told": True, "reminded": _names(people)},
                now=now,
            )
            timeline.record(
                incident,
                timeline.Kind.UPDATE_REMINDER,
                gettext_noop("Commander %(name)s told that stakeholders still wait for an update."),
                params={"name": display_name(commander)},
                at=now,
                data={**data, "commander": commander.pk},
            )
            stakeholders.hand_out_on_commit(told_key)
        stakeholders.hand_out_on_commit(key)
    logger.info("update reminder incident=%s stage=%s to=%s", incident.number, stage, who)


def prompt_final(row_id, *, now):
    """A resolved incident whose stakeholders heard of it gets one prompt for a final update."""

    with transaction.atomic():
        row = UpdateCadence.objects.select_related("incident", "incident__service").get(pk=row_id)
        incident = row.incident
        updates = StatusUpdate.objects.filter(incident=incident)
        informed = SeverityDefinition.for_severity(incident.severity).inform_stakeholders or updates.exists()
        final_posted = updates.filter(phase=Phase.RESOLVED).exists()
        if not informed or final_posted:
            return False
        people, _who, _holders = reminder_targets(incident)
        key = f"final:{incident.pk}"
        for user in people:
            stakeholders.create_for_person(
                user=user, key=key, purpose=Delivery.Purpose.FINAL_PROMPT, incident=incident, now=now
            )
        timeline.record(
            incident,
            timeline.Kind.UPDATE_REMINDER,
            gettext_noop("Resolved: post a final update for stakeholders. Asked %(names)s.")
            if people
            else gettext_noop("Resolved: post a final update for stakeholders."),
            params={"names": _names(people)},
            at=now,
            data={"final": True, "people": [u.pk for u in people]},
        )
        stakeholders.hand_out_on_commit(key)
    return True


def severity_changed(incident, *, now):
    """The incident's severity changed: its new cadence applies. Returns its definition, or None if unchanged.

    A shorter cadence brings the next update closer (never further away).
    Idempotent: the row remembers the severity it was set for.
    """
    row = UpdateCadence.objects.filter(incident=incident, closed_at=None).first()
    if row is None or row.severity == incident.severity or not incident.is_open:
        return None
    definition = SeverityDefinition.for_severity(incident.severity)
    fields = {"severity": incident.severity, "interval_minutes": definition.update_cadence_minutes}
    if definition.update_cadence_minutes and row.stage == 0:
        sooner = now + timedelta(minutes=definition.update_cadence_minutes)
        if row.due_at is None or sooner < row.due_at:
            fields.update(due_at=sooner, check_at=sooner)
    if UpdateCadence.objects.filter(pk=row.pk, severity=row.severity).update(**fields) != 1:
        return None
    return definition


def incident_resolved(incident, *, now):
    """Close the cadence of a resolved incident: no more reminders, one prompt for a final update. Once."""
    row = UpdateCadence.objects.filter(incident=incident, closed_at=None).first()
    if row is None or incident.is_open:
        return False
    if UpdateCadence.objects.filter(pk=row.pk, closed_at=None).update(closed_at=now, check_at=None) != 1:
        return False
    return prompt_final(row.pk, now=now)


def tick(now=None):
    """Remind about overdue updates and hand out due deliveries. Returns work done."""
    now = now or timezone.now()
    done = 0
    due = UpdateCadence.objects.filter(check_at__lte=now, closed_at=None).exclude(incident__status=Status.RESOLVED)
    for pk, stage, check_at, due_at, interval in due.values_list(
        "pk", "stage", "check_at", "due_at", "interval_minutes"
    )[:TICK_BATCH]:
        if stage >= 2 or due_at is None:
            continue
        next_check = due_at + timedelta(minutes=interval or FALLBACK_INTERVAL) if stage == 0 else None
        claimed = UpdateCadence.objects.filter(pk=pk, stage=stage, check_at=check_at).update(
            stage=stage + 1, check_at=next_check
        )
        if claimed == 1:
            remind(pk, stage=stage + 1, now=now)
            done += 1
    done += stakeholders.DELIVERIES.recover(now)
    return done
