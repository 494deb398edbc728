"""django-q2 entry points: thin, idempotent, safe to run late or twice."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from project.roles import MANAGERS

logger = logging.getLogger(__name__)

RECENT_DEPLOYMENTS = timedelta(hours=2)
TIMELINE_KIND = "deployments"
SCHEDULES = (
    {
        "name": "releases: announce freezes",
        "func": "releases.tasks.announce_freezes",
        "schedule_type": "I",
        "minutes": 1,
        "repeats": -1,
    },
)


def add_recent_deployments(incident_id):
    """Write the deployments to the incident's service in the 2 hours before it onto its timeline. Once."""
    from incidents.models import Incident, TimelineEntry
    from releases.models import Deployment

    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service").filter(pk=incident_id).first()
        if incident is None:
            return 0
        if TimelineEntry.objects.filter(incident=incident, kind=TIMELINE_KIND).exists():
            return 0
        deployments = list(
            Deployment.objects.filter(
                service=incident.service,
                deployed_at__gte=incident.created_at - RECENT_DEPLOYMENTS,
                deployed_at__lte=incident.created_at,
            ).order_by("-deployed_at", "-id")
        )
        if not deployments:
            return 0
        lines = [
            _("%(time)s %(version)s to %(environment)s by %(actor)s (%(decision)s)")
            % {
                "time": timezone.localtime(d.deployed_at).strftime("%H:%M"),
                "version": d.version or "?",
                "environment": d.environment or "?",
                "actor": d.actor or "?",
                "decision": d.get_decision_display(),
            }
            for d in deployments
        ]
        message = (
            _("What changed? %(count)s deployment(s) to %(service)s in the 2 hours before:")
            % {"count": len(deployments), "service": incident.service.name}
            + "\n"
            + "\n".join(lines)
        )
        TimelineEntry.objects.create(
            incident=incident,
            kind=TIMELINE_KIND,
            actor_name="Piquet",
            message=message,
            data={
                "deployments": [
                    {
                        "id": d.pk,
                        "version": d.version,
                        "environment": d.environment,
                        "deployed_at": d.deployed_at.isoformat(),
                        "actor": d.actor,
                        "url": d.url,
                        "decision": d.decision,
                    }
                    for d in deployments
                ]
            },
        )
    return len(deployments)


def notify_flagged_deployment(deployment_id):
    """Tell the managers about a deploy that went out while the gate was blocked. Once."""
    from releases.models import Deployment

    claimed = Deployment.objects.filter(pk=deployment_id, flagged=True, managers_notified_at=None).update(
        managers_notified_at=timezone.now()
    )
    if not claimed:
        return 0
    deployment = Deployment.objects.select_related("service").get(pk=deployment_id)
    emails = list(
        get_user_model()
        .objects.filter(groups__name=MANAGERS, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not emails:
        return 0
    reasons = "\n".join(f"- {r.get('name')}: {r.get('message')}" for r in deployment.reasons)
    subject = _("Deployed while blocked: %(service)s %(version)s") % {
        "service": deployment.service.name,
        "version": deployment.version,
    }
    body = _(
        "%(service)s %(version)s was deployed to %(environment)s at %(at)s by %(actor)s while the release gate "
        "was blocked, without an approved exception.\n\nReasons:\n%(reasons)s\n\n%(link)s"
    ) % {
        "service": deployment.service.name,
        "version": deployment.version or "?",
        "environment": deployment.environment or "?",
        "at": timezone.localtime(deployment.deployed_at).strftime("%Y-%m-%d %H:%M %Z"),
        "actor": deployment.actor or "?",
        "reasons": reasons,
        "link": settings.PIQUET_BASE_URL + f"/admin/releases/deployment/{deployment.pk}/change/",
    }
    send_mail(subject, body, None, emails)
    logger.info("flagged deployment notified id=%s managers=%s", deployment_id, len(emails))
    return len(emails)


def announce_freezes():
    from releases.announce import announce_due

    return announce_due()


def register_schedules(schedule_model=None):
    """Create or update the periodic schedules of this app. Idempotent."""
    if schedule_model is None:
        from django_q.models import Schedule as schedule_model
    for spec in SCHEDULES:
        values = {k: v for k, v in spec.items() if k != "name"}
        schedule_model.objects.update_or_create(name=spec["name"], defaults=values)
    return len(SCHEDULES)
