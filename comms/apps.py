from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommsConfig(AppConfig):
    name = "comms"
    verbose_name = _("Communications")

    def ready(self):
        # The audit trail of stakeholder groups, subscribers, wording and the status page's branding.
        from auditlog.registry import auditlog as audit

        from comms.models import MessageTemplate, StakeholderGroup, StatusPageSettings, Subscriber

        audit.register(StakeholderGroup, m2m_fields={"services", "members"})
        audit.register(Subscriber, mask_fields=["address", "secret"])
        audit.register(MessageTemplate)
        audit.register(StatusPageSettings)

        from people import teams

        teams.owned(StakeholderGroup)
        teams.owned(Subscriber, "group__team")

        from comms import maintenance  # noqa: F401  (tells subscribers of planned maintenance)
