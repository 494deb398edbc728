"""Recording a deployment with the gate's decision at that moment."""

import logging

from django.db import transaction
from django.utils import timezone

from project.queue import enqueue
from releases import gate
from releases.models import Deployment

logger = logging.getLogger(__name__)


def _flag_later(deployment):
    enqueue(
        "releases.tasks.notify_flagged_deployment",
        deployment.pk,
        task_name=f"releases.notify_flagged_deployment:{deployment.pk}",
    )


def record_deployment(
    *,
    service,
    version="",
    environment="",
    url="",
    actor="",
    at=None,
    user=None,
    integration=None,
    fixes_incident=None,
    source="api",
):
    """Store a deployment and what the gate said; a deploy through a block is flagged to managers."""
    at = at or timezone.now()
    decision = gate.decide(service=service, at=at, environment=environment, fixes_incident=fixes_incident)
    if decision.exception is not None:
        verdict = Deployment.Decision.EXCEPTION
    elif decision.allowed:
        verdict = Deployment.Decision.ALLOWED
    else:
        verdict = Deployment.Decision.BLOCKED
    with transaction.atomic():
        deployment = Deployment.objects.create(
            service=service,
            version=version,
            environment=environment,
            url=url,
            actor=actor,
            user=user,
            integration=integration,
            deployed_at=at,
            decision=verdict,
            reasons=[_jsonable(r.as_dict()) for r in decision.reasons],
            warnings=[_jsonable(w.as_dict()) for w in decision.warnings],
            exception=decision.exception,
            fixes_incident=fixes_incident,
            flagged=verdict == Deployment.Decision.BLOCKED,
            source=source,
        )
        if deployment.flagged:
            transaction.on_commit(lambda: _flag_later(deployment))
    logger.info(
        "deployment recorded service=%s version=%s environment=%s decision=%s",
        service.slug,
        version,
        environment,
        verdict,
    )
    return deployment, decision


def _jsonable(reason):
    until = reason.get("until")
    return {**reason, "until": until.isoformat() if until else None}
