"""django-q2 entry points: thin, idempotent, safe to run late or twice."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from delivery.transports import EMAIL, Message, Target, deliver
from project.roles import MANAGERS
from releases.announce import announce_due
from releases.models import Deployment

logger = logging.getLogger(__name__)

SCHEDULES = (
    {
        "name": "releases: announce freezes",
        "func": "releases.tasks.announce_freezes",
        "schedule_type": "I",
        "minutes": 1,
        "repeats": -1,
    },
)


def notify_flagged_deployment(deployment_id):
    """Tell the managers about a deploy that went out while the gate was blocked. Once."""

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
    message = Message(subject=subject, text=body)
    sent = sum(1 for email in emails if deliver(Target(kind=EMAIL, address=email), message).ok)
    logger.info("flagged deployment notified id=%s managers=%s sent=%s", deployment_id, len(emails), sent)
    return sent


def announce_freezes():

    return announce_due()


def register_schedules(schedule_model=None):
    """Create or update the periodic schedules of this app. Idempotent."""
    if schedule_model is None:
        from django_q.models import Schedule as schedule_model
    for spec in SCHEDULES:
        values = {k: v for k, v in spec.items() if k != "name"}
        schedule_model.objects.update_or_create(name=spec["name"], defaults=values)
    return len(SCHEDULES)
