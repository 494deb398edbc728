"""A review's draft, assembled from the incident's record when the review is created.

What the record says is gathered once, when the review is created: the impact
window (first alert → resolved), the services, the severity history, the key
timeline entries, the deployments and change events of the service in the 24
hours before and during the incident, and the tasks and how they ended. It is
kept as Markdown (the review's "timeline" section) and as rows (`record`), so
later changes to the incident do not rewrite what the reviewers worked from.
"""

import logging
from datetime import UTC, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import translation
from django.utils.translation import gettext as _

from incidents.models import Alert, Incident, IncidentTask, SeverityDefinition, TimelineEntry
from people.models import display_name
from releases.models import Deployment
from reviews.models import Review

logger = logging.getLogger(__name__)

DEPLOYMENTS_BEFORE = timedelta(hours=24)
MAX_ENTRIES = 300  # key timeline entries kept in the draft (an alert storm is summarised, not copied)
MAX_DEPLOYMENTS = 100
Kind = TimelineEntry.Kind

# The entries a reviewer needs to retell the incident: how it started, who was paged and answered, who led,
# what stakeholders were told, how it ended. Escalation steps and page deliveries are the "pages".
KEY_KINDS = (
    Kind.TRIGGERED,
    Kind.DECLARED,
    Kind.ALERT,
    Kind.ACKNOWLEDGED,
    Kind.ESCALATED,
    Kind.ESCALATION,
    Kind.DELIVERY,
    Kind.ROLE,
    Kind.SEVERITY,
    Kind.URGENCY,
    Kind.NOTE,
    Kind.STATUS_UPDATE,
    Kind.RESPONDERS,
    Kind.BRIDGE,
    Kind.PLAY,
    Kind.TASK,
    Kind.MERGED,
    Kind.RESOLVED,
)


def requires_review(incident):
    """Whether the incident's severity asks for a review when it is resolved (SeverityDefinition)."""
    return SeverityDefinition.for_severity(incident.severity).requires_review


def create_for(incident_id):
    """The review of a resolved incident whose severity requires one (the follower of a resolution). Once:
    an incident has one review. Returns the review, or None when none is due."""
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    if incident is None or incident.is_open or incident.merged_into_id or not requires_review(incident):
        return None
    review, _created = start(incident)
    return review


def start(incident, *, by=None):
    """The incident's review, created with its draft if it has none yet. Returns (review, created)."""
    existing = Review.objects.filter(incident=incident).first()
    if existing is not None:
        return existing, False
    record, markdown = assemble(incident)
    impact = record["impact"]
    try:
        with transaction.atomic():
            review = Review.objects.create(
                incident=incident,
                created_by=by,
                impact_started_at=impact["started_at_value"],
                impact_ended_at=impact["ended_at_value"],
                record=_jsonable(record),
                record_markdown=markdown,
            )
    except IntegrityError:  # created at the same moment by the follower or by hand
        return Review.objects.get(incident=incident), False
    logger.info("review created incident=%s review=%s", incident.number, review.pk)
    return review, True


def _jsonable(record):
    impact = record["impact"]
    return {**record, "impact": {k: v for k, v in impact.items() if not k.endswith("_value")}}


def _stamp(instant):
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if instant else "—"


def _duration_text(delta):
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = []
    if days:
        parts.append(f"{days} d")
    if hours:
        parts.append(f"{hours} h")
    parts.append(f"{minutes} min")
    return " ".join(parts)


def impact_window(incident):
    """(first alert, resolved): the first alert received (else the incident's opening) to its resolution."""
    first_alert = Alert.objects.filter(incident=incident).aggregate(first=Min("received_at"))["first"]
    started = min(first_alert, incident.created_at) if first_alert else incident.created_at
    return started, incident.resolved_at


def deployments_around(incident, started, ended):
    """Deployments and change events of the incident's service from 24 hours before it to its end."""
    until = ended or incident.resolved_at or incident.created_at
    return list(
        Deployment.objects.filter(
            service=incident.service, deployed_at__gte=started - DEPLOYMENTS_BEFORE, deployed_at__lte=until
        ).order_by("-deployed_at", "-id")[:MAX_DEPLOYMENTS]
    )


def _tasks_section(incident):
    """The incident's tasks and how they ended (open, done, skipped), as (rows, Markdown lines): a task still
    open when the incident was resolved carries over to the review."""
    rows, lines = [], []
    tasks = IncidentTask.objects.filter(incident=incident).select_related("done_by", "assignee")
    for task in tasks.order_by("position", "id"):
        who = display_name(task.done_by) if task.done_by else ""
        rows.append(
            {
                "title": task.title,
                "state": task.state,
                "required": task.required,
                "done_by": who,
                "done_at": task.done_at.isoformat() if task.done_at else None,
                "skip_reason": task.skip_reason,
            }
        )
        facts = {"title": _one_line(task.title), "who": who or "?", "when": _stamp(task.done_at)}
        if task.state == IncidentTask.State.DONE:
            line = _("[x] %(title)s — done by %(who)s at %(when)s") % facts
        elif task.state == IncidentTask.State.SKIPPED:
            facts["reason"] = _one_line(task.skip_reason)
            line = _("[-] %(title)s — skipped by %(who)s at %(when)s: %(reason)s") % facts
        else:
            required = _("required") if task.required else ""
            line = _("[ ] %(title)s — still open %(required)s") % {"title": facts["title"], "required": required}
        lines.append("- " + line.strip())
    return rows, lines


def assemble(incident):
    """The record of the incident as (rows, Markdown), in the installation's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return _assemble(incident)


def _assemble(incident):
    started, ended = impact_window(incident)
    duration = ended - started if ended else None
    entries = list(
        TimelineEntry.objects.filter(incident=incident, kind__in=KEY_KINDS)
        .select_related("actor")
        .order_by("at", "id")[: MAX_ENTRIES + 1]
    )
    more = len(entries) > MAX_ENTRIES
    entries = entries[:MAX_ENTRIES]
    severity_history = [e for e in entries if e.kind == Kind.SEVERITY]
    deployments = deployments_around(incident, started, ended)
    task_rows, task_lines = _tasks_section(incident)
    services = [incident.service]

    record = {
        "impact": {
            "started_at": started.isoformat(),
            "ended_at": ended.isoformat() if ended else None,
            "duration_seconds": int(duration.total_seconds()) if duration else None,
            "started_at_value": started,
            "ended_at_value": ended,
        },
        "services": [{"id": s.pk, "name": s.name, "slug": s.slug} for s in services],
        "severity": incident.severity,
        "severity_history": [{"at": e.at.isoformat(), "text": e.text} for e in severity_history],
        "entries": [
            {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor_display, "text": e.text} for e in entries
        ],
        "entries_cut": more,
        "deployments": [
            {
                "id": d.pk,
                "service": incident.service.name,
                "version": d.version,
                "environment": d.environment,
                "deployed_at": d.deployed_at.isoformat(),
                "actor": d.actor,
                "url": d.url,
                "decision": d.decision,
                "source": d.source,
                "minutes_before": int((started - d.deployed_at).total_seconds() // 60),
            }
            for d in deployments
        ],
        "tasks": task_rows,
    }

    impact_label, resolved_label, duration_label = _("Impact started (first alert)"), _("Resolved"), _("Duration")
    services_label, severity_label = _("Services"), _("Severity")
    lines = [
        "## " + _("Impact"),
        "",
        f"- {impact_label}: {_stamp(started)}",
        f"- {resolved_label}: {_stamp(ended)}",
        f"- {duration_label}: {_duration_text(duration)}",
        f"- {services_label}: {', '.join(s.name for s in services)}",
        f"- {severity_label}: {incident.severity}",
        "",
    ]
    if severity_history:
        lines += ["### " + _("Severity history"), ""]
        lines += [f"- {_stamp(e.at)} {_one_line(e.text)}" for e in severity_history]
        lines.append("")
    lines += ["## " + _("Changes before and during the incident"), ""]
    if deployments:
        for d in reversed(deployments):
            lines.append(
                "- "
                + _("%(time)s %(service)s %(version)s to %(environment)s by %(actor)s (%(source)s)")
                % {
                    "time": _stamp(d.deployed_at),
                    "service": incident.service.name,
                    "version": d.version or "?",
                    "environment": d.environment or "?",
                    "actor": d.actor or "?",
                    "source": d.source or "api",
                }
            )
    else:
        lines.append(_("No deployment or change event in the 24 hours before or during the incident."))
    lines += ["", "## " + _("Timeline"), ""]
    for entry in entries:
        kind = entry.get_kind_display()
        lines.append(f"- {_stamp(entry.at)} **{kind}** ({_one_line(entry.actor_display)}): {_one_line(entry.text)}")
    if more:
        lines.append(_("- … more entries on the incident's timeline."))
    if task_lines:
        lines += ["", "## " + _("Tasks"), "", *task_lines]
    return record, "\n".join(lines).strip() + "\n"


def _one_line(text):
    return " ".join(str(text or "").split())[:500]
