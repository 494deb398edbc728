from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RotationsConfig(AppConfig):
    name = "rotations"
    verbose_name = _("On-call schedules")

    def ready(self):
        # The audit trail of schedules, their layers and overrides, escalation policies.
        from auditlog.registry import auditlog as audit

        from rotations.models import (
            CalendarFeed,
            EscalationPolicy,
            EscalationStep,
            Layer,
            Override,
            Participant,
            Schedule,
            SwapRequest,
        )

        for model in (Schedule, Layer, Participant, Override, EscalationPolicy):
            audit.register(model)
        audit.register(EscalationStep, m2m_fields={"users", "schedules"})
        audit.register(CalendarFeed, mask_fields=["token"])
        audit.register(SwapRequest, m2m_fields={"offered_to", "declined_by"})

        from people import teams

        for model, path in (
            (Schedule, "team"),
            (Layer, "schedule__team"),
            (Participant, "layer__schedule__team"),
            (Override, "schedule__team"),
            (CalendarFeed, "schedule__team"),
            (SwapRequest, "schedule__team"),
            (EscalationPolicy, "team"),
            (EscalationStep, "policy__team"),
        ):
            teams.owned(model, path)
