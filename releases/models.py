import re
import zoneinfo
from functools import lru_cache

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from people.models import owning_team
from project import clock, recurrence
from project.recurrence import validate_cron


@lru_cache(maxsize=1)
def _zone_names():
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value):
    if value not in _zone_names():
        raise ValidationError(
            _("Unknown time zone %(zone)s: use an IANA name such as Europe/Zurich."), params={"zone": repr(value)}
        )


def validate_environments(value):
    for name in split_environments(value):
        if not re.fullmatch(r"[\w.-]+", name):
            raise ValidationError(_("%(name)s is not an environment name."), params={"name": repr(name)})


def split_environments(value):
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class ReleaseWindowQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)

    def for_service(self, service):
        """Enabled windows applying to a service: those naming it and those naming none."""
        through = self.model.services.through
        naming = through.objects.filter(service=service).values("releasewindow_id")
        any_service = through.objects.filter(releasewindow=OuterRef("pk"))
        return self.enabled().filter(Q(pk__in=naming) | ~Exists(any_service))


class ReleaseWindow(models.Model):
    class Kind(models.TextChoices):
        DENY = "deny", _("Freeze (deny deploys)")
        ALLOW = "allow", _("Release window (allow deploys)")

    class Enforcement(models.TextChoices):
        HARD = "hard", _("Hard: blocks")
        SOFT = "soft", _("Soft: warns only")

    name = models.CharField(_("name"), max_length=200)
    team = owning_team()
    kind = models.CharField(
        _("kind"),
        max_length=5,
        choices=Kind.choices,
        default=Kind.DENY,
        help_text=_("A freeze denies deploys while active; release windows are the only times deploys are allowed."),
    )
    enforcement = models.CharField(
        _("enforcement"),
        max_length=4,
        choices=Enforcement.choices,
        default=Enforcement.HARD,
        help_text=_("Hard windows block the gate; soft windows only add a warning."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Europe/Zurich",
        validators=[validate_time_zone],
        help_text=_("IANA zone whose wall clock the times are read on, e.g. Europe/Zurich."),
    )
    services = models.ManyToManyField(
        "incidents.Service",
        blank=True,
        related_name="release_windows",
        verbose_name=_("services"),
        help_text=_("Services this window applies to; none means every service."),
    )
    environments = models.CharField(
        _("environments"),
        max_length=200,
        blank=True,
        validators=[validate_environments],
        help_text=_(
            "Comma-separated environments this window applies to, e.g. 'production'; empty means every environment."
        ),
    )
    message = models.TextField(_("message"), blank=True, help_text=_("Shown to whoever asks the gate."))
    enabled = models.BooleanField(_("enabled"), default=True)
    start_cron = models.CharField(
        _("start (cron)"),
        max_length=100,
        blank=True,
        validators=[validate_cron],
        help_text=_("Recurring: 5-field cron of when the window opens, e.g. '0 12 * * 5' for Friday 12:00."),
    )
    end_cron = models.CharField(
        _("end (cron)"),
        max_length=100,
        blank=True,
        validators=[validate_cron],
        help_text=_("Recurring: 5-field cron of when the window closes, e.g. '0 8 * * 1' for Monday 08:00."),
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True, help_text=_("One-off: opening instant."))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True, help_text=_("One-off: closing instant."))
    holiday_country = models.CharField(
        _("holidays of country"),
        max_length=3,
        blank=True,
        help_text=_("Public holidays of this country (ISO code, e.g. CH) freeze whole local days."),
    )
    holiday_subdivision = models.CharField(
        _("holidays of subdivision"),
        max_length=10,
        blank=True,
        help_text=_("Optional subdivision (canton, state), e.g. ZH."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ReleaseWindowQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("release window")
        verbose_name_plural = _("release windows")
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="release_window_ends_after_start",
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

    @property
    def is_hard(self):
        return self.enforcement == self.Enforcement.HARD

    def applies_to_environment(self, environment):
        names = split_environments(self.environments)
        return not names or not environment or environment in names

    def clean(self):
        errors = recurrence.time_errors(self)
        if self.holiday_country:
            supported = holidays.list_supported_countries()
            country = self.holiday_country.upper()
            if country not in supported:
                errors["holiday_country"] = _("Unknown country %(country)s for public holidays.") % {
                    "country": repr(self.holiday_country)
                }
            elif self.holiday_subdivision and self.holiday_subdivision.upper() not in supported[country]:
                errors["holiday_subdivision"] = _("%(subdiv)s is not a subdivision of %(country)s.") % {
                    "subdiv": repr(self.holiday_subdivision),
                    "country": country,
                }
            if self.kind != self.Kind.DENY:
                errors["kind"] = _("Public holidays can only be a freeze (deny) window.")
        elif self.holiday_subdivision:
            errors["holiday_country"] = _("A subdivision needs its country.")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.holiday_country = self.holiday_country.upper()
        self.holiday_subdivision = self.holiday_subdivision.upper()
        self.start_cron = " ".join(self.start_cron.split())
        self.end_cron = " ".join(self.end_cron.split())
        super().save(*args, **kwargs)


class FreezeExceptionQuerySet(models.QuerySet):
    def approved(self):
        return self.filter(approved_by__isnull=False)

    def current(self, at):
        return self.approved().filter(starts_at__lte=at, ends_at__gt=at)


class FreezeException(models.Model):
    """Permission to deploy despite a freeze, requested by one person and approved by a manager."""

    services = models.ManyToManyField(
        "incidents.Service",
        related_name="freeze_exceptions",
        verbose_name=_("services"),
        help_text=_("Services that may be deployed during the exception."),
    )
    reason = models.TextField(_("reason"), help_text=_("Why this deploy cannot wait."))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
        help_text=_("A manager other than the requester."),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="freeze_exceptions",
        verbose_name=_("incident"),
        help_text=_("The incident this exception is for, if any."),
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now, editable=False)

    objects = FreezeExceptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("freeze exception")
        verbose_name_plural = _("freeze exceptions")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="freeze_exception_ends_after_start"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="freeze_exception_not_self_approved",
            ),
        ]
        indexes = [models.Index(fields=["ends_at", "starts_at"], name="freeze_exception_span")]

    def __str__(self):
        return f"#{self.pk} {self.reason[:60]}"

    @property
    def is_approved(self):
        return self.approved_by_id is not None

    def clean(self):
        errors = clock.out_of_range(self, ("starts_at", "ends_at"))
        if not errors and self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("ends_at must be after starts_at.")
        if errors:
            raise ValidationError(errors)


class Deployment(models.Model):
    class Decision(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        BLOCKED = "blocked", _("Blocked but deployed")
        EXCEPTION = "exception", _("Allowed by an exception")

    service = models.ForeignKey(
        "incidents.Service", on_delete=models.PROTECT, related_name="deployments", verbose_name=_("service")
    )
    version = models.CharField(_("version"), max_length=200, blank=True)
    environment = models.CharField(_("environment"), max_length=100, blank=True)
    url = models.URLField(_("link"), max_length=1000, blank=True, help_text=_("The pipeline or release page."))
    actor = models.CharField(_("deployed by"), max_length=200, blank=True, help_text=_("Who or what deployed."))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    integration = models.ForeignKey(
        "incidents.Integration",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("integration"),
    )
    deployed_at = models.DateTimeField(_("deployed at"), default=timezone.now)
    decision = models.CharField(
        _("gate decision"),
        max_length=10,
        choices=Decision.choices,
        help_text=_("What the gate answered at the moment of the deployment."),
    )
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    exception = models.ForeignKey(
        FreezeException,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deployments",
        verbose_name=_("exception"),
    )
    fixes_incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="fix_deployments",
        verbose_name=_("fixes incident"),
    )
    flagged = models.BooleanField(
        _("flagged"),
        default=False,
        help_text=_("Deployed while the gate was blocked, without an exception; managers are told."),
    )
    managers_notified_at = models.DateTimeField(_("managers notified at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-deployed_at", "-id"]
        verbose_name = _("deployment")
        verbose_name_plural = _("deployments")
        indexes = [models.Index(fields=["service", "-deployed_at"], name="deployment_service_at")]

    def __str__(self):
        return f"{self.service} {self.version}".strip()


class FreezeAnnouncement(models.Model):
    """One announcement of a freeze beginning or ending; unique per occurrence."""

    class Kind(models.TextChoices):
        BEGIN = "begin", _("Begins")
        END = "end", _("Ends")

    window = models.ForeignKey(
        ReleaseWindow, on_delete=models.CASCADE, related_name="announcements", verbose_name=_("window")
    )
    occurrence_start = models.DateTimeField(_("occurrence start"))
    occurrence_end = models.DateTimeField(_("occurrence end"))
    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("freeze announcement")
        verbose_name_plural = _("freeze announcements")
        constraints = [
            models.UniqueConstraint(
                fields=["window", "occurrence_start", "kind"], name="one_announcement_per_occurrence"
            ),
        ]

    def __str__(self):
        return f"{self.window} {self.kind} {self.occurrence_start:%Y-%m-%d %H:%M}"
