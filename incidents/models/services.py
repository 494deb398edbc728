"""Services: what can break, who is paged for it, how urgent its incidents are and what the status page says."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models.choices import (
    PublicStatus,
    Urgency,
    default_high_urgency,
    validate_high_urgency,
    validate_support_hours,
)
from people.models import owning_team
from project.clock import get_zone, validate_time_zone
from rotations.restrictions import parse_restrictions, restriction_next_edge, restrictions_cover


class Service(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(
        _("slug"),
        max_length=100,
        unique=True,
        help_text=_("Short identifier used in URLs and by CI pipelines, e.g. 'website'."),
    )
    description = models.TextField(_("description"), blank=True)
    team = owning_team()
    escalation_policy = models.ForeignKey(
        "rotations.EscalationPolicy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services",
        verbose_name=_("escalation policy"),
        help_text=_("The call chain paged when this service has an incident. None: nobody is paged."),
    )
    public_name = models.CharField(
        _("public name"),
        max_length=200,
        blank=True,
        help_text=_("What customers call it, on the status page (e.g. 'Online shop'). Empty: the service's name."),
    )
    public_description = models.CharField(
        _("public description"),
        max_length=500,
        blank=True,
        help_text=_("One line under its name on the status page."),
    )
    public_status = models.CharField(
        _("public status"),
        max_length=20,
        choices=PublicStatus.choices,
        default=PublicStatus.OPERATIONAL,
        help_text=_("What the status page says now. Set by a person, usually with a status update."),
    )
    auto_publish = models.BooleanField(
        _("publish new incidents automatically"),
        default=False,
        help_text=_(
            "Off: an incident appears on the status page when a person posts a public update. On: a new "
            "incident that informs stakeholders posts 'We are investigating an issue affecting' and the "
            "service's public name by itself (never the alert's text)."
        ),
    )
    high_urgency_severities = models.JSONField(
        _("high-urgency severities"),
        default=default_high_urgency,
        blank=True,
        validators=[validate_high_urgency],
        help_text=_(
            "Incidents of these severities are high urgency: they page at any hour. The others are low urgency: "
            "outside support hours they wait for the morning."
        ),
    )
    support_hours = models.JSONField(
        _("support hours"),
        default=list,
        blank=True,
        validators=[validate_support_hours],
        help_text=_("When low-urgency incidents page, in the service's time zone. Empty: at any hour."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("The zone of the support hours, e.g. Europe/Zurich. Empty: the installation's (TIME_ZONE)."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self):
        return self.name

    def urgency_for(self, severity):
        """The urgency of a new incident of this severity, from the service's map."""
        return Urgency.HIGH if severity in (self.high_urgency_severities or ()) else Urgency.LOW

    def support_hours_begin(self, at):
        """None when `at` is inside support hours (or the service has none); else when they next begin."""
        restrictions = parse_restrictions(self.support_hours)
        if not restrictions:
            return None
        zone = get_zone(self.time_zone or settings.TIME_ZONE)
        if restrictions_cover(restrictions, zone, at):
            return None
        return restriction_next_edge(restrictions, zone, at)

    @property
    def public_label(self):
        return self.public_name or self.name


class ServiceStatusChange(models.Model):
    """A service's public status from `at` on: the status page's 90-day history. Written by incidents.public_status."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("service")
    )
    status = models.CharField(_("public status"), max_length=20, choices=PublicStatus.choices)
    at = models.DateTimeField(_("from"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set by"),
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("public status change")
        verbose_name_plural = _("public status changes")
        indexes = [models.Index(fields=["service", "at"], name="statuschange_service_at")]

    def __str__(self):
        return f"{self.service}: {self.get_status_display()} ({self.at:%Y-%m-%d %H:%M})"
