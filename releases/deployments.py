"""Recording a deployment with the gate's decision at that moment; what changed before an incident."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from incidents import timeline
from incidents.models import Incident
from project.queue import enqueue
from releases import gate
from releases.models import Deployment

logger = logging.getLogger(__name__)

RECENT_DEPLOYMENTS = timedelta(hours=2)


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


def add_recent_deployments(incident_id):
    """Write the deployments to the incident's service in the 2 hours before it onto its timeline. Once."""

    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service").filter(pk=incident_id).first()
        if incident is None:
            return 0
        if timeline.has(incident, timeline.Kind.DEPLOYMENTS):
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
            timeline.translated(
                gettext_noop("%(time)s %(version)s to %(environment)s by %(actor)s (%(decision)s)"),
                {
                    "time": timezone.localtime(d.deployed_at).strftime("%H:%M"),
                    "version": d.version or "?",
                    "environment": d.environment or "?",
                    "actor": d.actor or "?",
                    "decision": timeline.label(Deployment.Decision(d.decision)),
                },
            )
            for d in deployments
        ]
        timeline.record(
            incident,
            timeline.Kind.DEPLOYMENTS,
            gettext_noop("What changed? %(count)s deployment(s) to %(service)s in the 2 hours before:\n%(lines)s"),
            params={"count": len(deployments), "service": incident.service.name, "lines": lines},
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
