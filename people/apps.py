from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = _("People")

    def ready(self):
        # The audit trail of people, their roles, contact methods and notification rules.
        from auditlog.registry import auditlog as audit
        from django.contrib.auth import get_user_model

        from people.models import ContactMethod, NotificationRule, Profile, Team, TeamMembership

        audit.register(get_user_model(), exclude_fields=["password", "last_login"], m2m_fields={"groups"})
        audit.register(ContactMethod, mask_fields=["address"])
        audit.register(NotificationRule)
        audit.register(Profile)
        audit.register(Team)
        audit.register(TeamMembership)

        from people import teams
        from project import audit as trail

        trail.scope_entries(teams.audit_entries)
