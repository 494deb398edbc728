"""Maintenance windows: while one is active, alerts are recorded and incidents opened, but nobody is paged."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models.services import Service
from people.models import owning_team
from project import recurrence
from project.clock import validate_time_zone
from project.recurrence import validate_cron

# Sent once a window is saved with its services (admin, API): comms tells the status page's subscribers.
planned = Signal()


def installation_zone():
    return settings.TIME_ZONE


class MaintenanceWindowQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)

    def for_service(self, service):
        """Enabled windows silencing a service: those naming it and those naming none (every service)."""
        through = self.model.services.through
        naming = through.objects.filter(service=service).values("maintenancewindow_id")
        any_service = through.objects.filter(maintenancewindow=OuterRef("pk"))
        return self.enabled().filter(Q(pk__in=naming) | ~Exists(any_service))


class MaintenanceWindow(models.Model):
    name = models.CharField(_("name"), max_length=200)
    team = owning_team()
    services = models.ManyToManyField(
        Service,
        blank=True,
        related_name="maintenance_windows",
        verbose_name=_("services"),
        help_text=_("Services silenced by this window; none means every service."),
    )
    reason = models.TextField(_("reason"), blank=True, help_text=_("What is being done, shown with the banner."))
    public = models.BooleanField(
        _("show on the status page"),
        default=False,
        help_text=_("Shown as scheduled maintenance on the status page; subscribers are told when it is planned."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=installation_zone,
        validators=[validate_time_zone],
        help_text=_("IANA zone whose wall clock recurring times are read on, e.g. Europe/Zurich."),
    )
    start_cron = models.CharField(
        _("start (cron)"),
        max_length=100,
        blank=True,
        validators=[validate_cron],
        help_text=_("Recurring: 5-field cron of when maintenance begins, e.g. '0 2 * * 0' for Sunday 02:00."),
    )
    end_cron = models.CharField(
        _("end (cron)"),
        max_length=100,
        blank=True,
        validators=[validate_cron],
        help_text=_("Recurring: 5-field cron of when maintenance ends, e.g. '0 4 * * 0' for Sunday 04:00."),
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True, help_text=_("One-off: when it begins."))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True, help_text=_("One-off: when it ends."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    announced_at = models.DateTimeField(_("announced at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = MaintenanceWindowQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "name", "id"]
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="maintenance_window_ends_after_start",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def form(self):
        return recurrence.time_form(self)

    @property
    def zone(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    def clean(self):
        errors = recurrence.time_errors(self)
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.start_cron = " ".join(self.start_cron.split())
        self.end_cron = " ".join(self.end_cron.split())
        super().save(*args, **kwargs)


def maintenance_at(service, at):
    """The maintenance window silencing `service` at `at` and its occurrence, or (None, None)."""
    for window in MaintenanceWindow.objects.for_service(service):
        occurrence = recurrence.occurrence_at(window, at)
        if occurrence is not None:
            return window, occurrence
    return None, None
