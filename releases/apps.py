from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = _("Releases")

    def ready(self):
        # The audit trail of release windows and freeze exceptions.
        from auditlog.registry import auditlog as audit

        from releases.models import FreezeException, ReleaseWindow

        audit.register(ReleaseWindow, m2m_fields={"services"})
        audit.register(FreezeException, m2m_fields={"services"})

        from people import teams

        teams.owned(ReleaseWindow)
