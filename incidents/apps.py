from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self):
        # The audit trail of services, integrations and severities.
        from auditlog.registry import auditlog as audit

        from incidents.models import (
            Integration,
            MaintenanceWindow,
            Play,
            PlayTask,
            RoutingRule,
            Service,
            SeverityDefinition,
        )

        audit.register(Service)
        audit.register(Integration, mask_fields=["key"])
        audit.register(SeverityDefinition)
        audit.register(MaintenanceWindow, m2m_fields={"services"})
        audit.register(RoutingRule)
        audit.register(Play, m2m_fields={"services", "responder_users", "responder_schedules", "responder_policies"})
        audit.register(PlayTask)

        from people import teams

        teams.owned(Service)
        teams.owned(Integration, "service__team")
        teams.owned(MaintenanceWindow)
        teams.owned(RoutingRule, "integration__service__team")
        teams.owned(Play)
        teams.owned(PlayTask, "play__team")
