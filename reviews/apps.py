from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews")

    def ready(self):
        # The audit trail of reviews and their action items.
        from auditlog.registry import auditlog as audit

        from reviews.models import ActionItem, Review

        audit.register(Review, m2m_fields={"contributing_deployments"})
        audit.register(ActionItem)

        from people import teams

        teams.owned(Review, "incident__service__team")
        teams.owned(ActionItem, "review__incident__service__team")
