import secrets
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comms.models import DeliveryStatus

KEY_LENGTH = 32


def generate_integration_key():
    """A random 32-character key (hex), unguessable and URL-safe."""
    return secrets.token_hex(KEY_LENGTH // 2)


class Severity(models.TextChoices):
    SEV1 = "SEV1", _("SEV1 – critical")
    SEV2 = "SEV2", _("SEV2 – major")
    SEV3 = "SEV3", _("SEV3 – minor")
    SEV4 = "SEV4", _("SEV4 – informational")


class Status(models.TextChoices):
    TRIGGERED = "triggered", _("Triggered")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Service(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(
        _("slug"),
        max_length=100,
        unique=True,
        help_text=_("Short identifier used in URLs and by CI pipelines, e.g. 'website'."),
    )
    description = models.TextField(_("description"), blank=True)
    escalation_policy = models.ForeignKey(
        "rotations.EscalationPolicy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services",
        verbose_name=_("escalation policy"),
        help_text=_("The call chain paged when this service has an incident. None: nobody is paged."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self):
        return self.name


INTEGRATION_CACHE_SECONDS = 5
_INTEGRATIONS = {}


def forget_integrations():
    _INTEGRATIONS.clear()


class Integration(models.Model):
    class Kind(models.TextChoices):
        EVENTS_V2 = "events_v2", _("Events API v2 (PagerDuty-compatible)")
        ALERTMANAGER = "alertmanager", _("Prometheus Alertmanager webhook")

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="integrations", verbose_name=_("service")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.EVENTS_V2)
    name = models.CharField(_("name"), max_length=200, help_text=_("Where the alerts come from, e.g. 'Prometheus'."))
    key = models.CharField(
        _("integration key"),
        max_length=KEY_LENGTH,
        unique=True,
        default=generate_integration_key,
        editable=False,
        help_text=_("Secret that monitoring tools send as routing key. Regenerate it if it leaked."),
    )
    enabled = models.BooleanField(
        _("enabled"), default=True, help_text=_("Events sent to a disabled integration are refused.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["service__name", "name"]
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")

    def __str__(self):
        return f"{self.service} / {self.name}"

    def regenerate_key(self):
        self.key = generate_integration_key()
        self.save(update_fields=["key"])

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        forget_integrations()

    def delete(self, *args, **kwargs):
        forget_integrations()
        return super().delete(*args, **kwargs)

    @classmethod
    def by_key(cls, key):
        """The integration with this key (and its service), or None.

        Kept for a few seconds per process: alerts come in bursts and every one
        of them names its key. A change made in this process is seen at once,
        one made elsewhere within INTEGRATION_CACHE_SECONDS.
        """
        now = time.monotonic()
        cached = _INTEGRATIONS.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        integration = cls.objects.select_related("service").filter(key=key).order_by()[:1]
        integration = next(iter(integration), None)
        if len(_INTEGRATIONS) > 10_000:
            _INTEGRATIONS.clear()
        _INTEGRATIONS[key] = (integration, now + INTEGRATION_CACHE_SECONDS)
        return integration

    @property
    def events_url(self):
        return settings.PIQUET_BASE_URL + reverse("events-v2-enqueue")

    @property
    def alertmanager_url(self):
        return settings.PIQUET_BASE_URL + reverse("alertmanager-webhook", args=[self.key])

    @property
    def url(self):
        """The URL a monitoring tool posts to for this integration's kind."""
        if self.kind == self.Kind.ALERTMANAGER:
            return self.alertmanager_url
        return self.events_url


class IncidentQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(status=Status.RESOLVED)


class IncidentCounter(models.Model):
    """Hands out incident numbers: one row, incremented under its row lock."""

    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("incident counter")

    def __str__(self):
        return str(self.value)


class Incident(models.Model):
    number = models.PositiveBigIntegerField(_("number"), unique=True, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("service"))
    title = models.CharField(_("title"), max_length=1024)
    description = models.TextField(_("description"), blank=True)
    severity = models.CharField(_("severity"), max_length=4, choices=Severity.choices, default=Severity.SEV2)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.TRIGGERED)
    dedup_key = models.CharField(
        _("deduplication key"),
        max_length=255,
        help_text=_("Alerts with this key join this incident while it is open."),
    )
    alert_count = models.PositiveIntegerField(_("alerts"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_alert_at = models.DateTimeField(_("last alert at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-number"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.UniqueConstraint(
                fields=["service", "dedup_key"],
                condition=~Q(status="resolved"),
                name="one_open_incident_per_dedup_key",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="incident_status_created"),
            models.Index(fields=["-created_at"], name="incident_created"),
        ]

    def __str__(self):
        return f"#{self.number} {self.title}"

    @property
    def is_open(self):
        return self.status != Status.RESOLVED

    def get_absolute_url(self):
        return reverse("admin:incidents_incident_change", args=[self.pk])

    @property
    def url(self):
        return settings.PIQUET_BASE_URL + self.get_absolute_url()


class Alert(models.Model):
    """An accepted event, kept as it was received."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("integration")
    )
    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="alerts",
        null=True,
        blank=True,
        verbose_name=_("incident"),
    )
    dedup_key = models.CharField(_("deduplication key"), max_length=255)
    action = models.CharField(_("action"), max_length=20)
    summary = models.CharField(_("summary"), max_length=1024, blank=True)
    severity = models.CharField(_("severity"), max_length=20, blank=True)
    source = models.CharField(_("source"), max_length=1024, blank=True)
    fingerprint = models.CharField(
        _("fingerprint"),
        max_length=255,
        blank=True,
        help_text=_("Alertmanager's identity of one alert inside its group."),
    )
    status = models.CharField(_("alert status"), max_length=20, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "fingerprint"],
                condition=~Q(fingerprint=""),
                name="one_alert_per_fingerprint_and_incident",
            ),
        ]

    def __str__(self):
        return f"{self.action} {self.dedup_key}"


class TimelineEntry(models.Model):
    """One line of an incident's history. Append-only."""

    class Kind(models.TextChoices):
        TRIGGERED = "triggered", _("Triggered")
        DECLARED = "declared", _("Declared")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")
        NOTE = "note", _("Note")
        SEVERITY = "severity", _("Severity changed")
        ALERT = "alert", _("Alert")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="timeline", verbose_name=_("incident")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(
        _("actor name"), max_length=200, blank=True, help_text=_("The integration or system when no person acted.")
    )
    message = models.TextField(_("message"))
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        indexes = [models.Index(fields=["incident", "at"], name="timeline_incident_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError(_("Timeline entries cannot be changed once written."))
        super().save(*args, **kwargs)

    @property
    def actor_display(self):
        if self.actor_id:
            return self.actor.get_full_name() or self.actor.get_username()
        return self.actor_name or "Piquet"


class Escalation(models.Model):
    """The call chain running for one incident, on a snapshot of its policy."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        ACKNOWLEDGED = "acknowledged", _("Stopped: acknowledged")
        RESOLVED = "resolved", _("Stopped: resolved")
        EXHAUSTED = "exhausted", _("Exhausted: nobody acknowledged")

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="escalation", verbose_name=_("incident")
    )
    policy_name = models.CharField(_("policy"), max_length=200, blank=True)
    snapshot = models.JSONField(
        _("policy snapshot"), default=dict, help_text=_("The chain as it was when the escalation started.")
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.RUNNING)
    round = models.PositiveSmallIntegerField(_("round"), default=0)
    step = models.SmallIntegerField(
        _("step"), default=-1, help_text=_("Index of the last step fired; -1 before the first.")
    )
    next_at = models.DateTimeField(_("next escalation at"), null=True, blank=True, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")

    def __str__(self):
        return f"#{self.incident.number} {self.get_state_display()}"

    @property
    def steps(self):
        return self.snapshot.get("steps", [])

    @property
    def repeat(self):
        return int(self.snapshot.get("repeat", 0))


class Page(models.Model):
    """A person paged by one step of one round of an incident's escalation."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="pages", verbose_name=_("incident"))
    round = models.PositiveSmallIntegerField(_("round"))
    step = models.PositiveSmallIntegerField(_("step"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pages", verbose_name=_("person")
    )
    via = models.CharField(_("via"), max_length=200, blank=True, help_text=_("The target that named this person."))
    created_at = models.DateTimeField(_("paged at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        constraints = [
            models.UniqueConstraint(fields=["incident", "round", "step", "user"], name="one_page_per_person_and_step")
        ]

    def __str__(self):
        return f"#{self.incident.number} r{self.round + 1} s{self.step + 1} {self.user}"


class Notification(models.Model):
    """One message to one person by one contact method: written before it is sent."""

    class Purpose(models.TextChoices):
        PAGE = "page", _("Page")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged notice")
        RESOLVED = "resolved", _("Resolved notice")

    Status = DeliveryStatus

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("incident")
    )
    page = models.ForeignKey(Page, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.PAGE)
    round = models.SmallIntegerField(_("round"), default=-1)
    step = models.SmallIntegerField(_("step"), default=-1)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    contact_method = models.ForeignKey(
        "comms.ContactMethod", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact method")
    )
    delay_minutes = models.PositiveIntegerField(_("delay (minutes)"), default=0)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(_("due at"), db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("last error"), blank=True)
    provider_response = models.TextField(_("provider response"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "purpose", "round", "step", "user", "contact_method", "delay_minutes"],
                name="one_notification_per_rule_and_step",
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="notification_status_due")]

    def __str__(self):
        return f"#{self.incident.number} {self.purpose} → {self.user} ({self.status})"


class SeverityDefinition(models.Model):
    """What a severity means, whether stakeholders hear of it and how often they get updates."""

    DEFAULTS = {
        Severity.SEV1: ("SEV1: the site is down for everyone.", True, 30),
        Severity.SEV2: ("SEV2: a major feature is broken for many people.", True, 60),
        Severity.SEV3: ("SEV3: a minor feature is degraded; there is a workaround.", True, 240),
        Severity.SEV4: ("SEV4: cosmetic or internal; nobody outside the team notices.", False, None),
    }

    severity = models.CharField(_("severity"), max_length=4, choices=Severity.choices, unique=True)
    description = models.TextField(
        _("description"), help_text=_("What this severity means, e.g. 'SEV1: the site is down for everyone'.")
    )
    inform_stakeholders = models.BooleanField(
        _("inform stakeholders"),
        default=True,
        help_text=_("Stakeholder groups get a first notice and the status updates of incidents of this severity."),
    )
    update_cadence_minutes = models.PositiveIntegerField(
        _("update cadence (minutes)"),
        null=True,
        blank=True,
        help_text=_("A status update is due this many minutes after the last one. Empty: no cadence."),
    )
    required_roles = models.JSONField(
        _("required roles"),
        default=list,
        blank=True,
        help_text=_("Roles an incident of this severity must have filled (commander, communications, scribe)."),
    )

    class Meta:
        ordering = ["severity"]
        verbose_name = _("severity definition")
        verbose_name_plural = _("severity definitions")

    def __str__(self):
        return self.severity

    def clean(self):
        super().clean()
        unknown = [r for r in (self.required_roles or []) if r not in IncidentRole.Role.values]
        if unknown:
            raise ValidationError({"required_roles": _("Unknown role(s): %(roles)s.") % {"roles": ", ".join(unknown)}})

    @classmethod
    def for_severity(cls, severity):
        """The stored definition, or the built-in default (unsaved)."""
        found = cls.objects.filter(severity=severity).first()
        if found is not None:
            return found
        return cls.default(severity)

    @classmethod
    def default(cls, severity):
        description, inform, cadence = cls.DEFAULTS.get(severity, ("", False, None))
        roles = ["commander", "communications"] if severity in (Severity.SEV1, Severity.SEV2) else []
        return cls(
            severity=severity,
            description=description,
            inform_stakeholders=inform,
            update_cadence_minutes=cadence,
            required_roles=roles,
        )


class IncidentRole(models.Model):
    """Who holds a role on an incident. Changed only through incidents.roles.assign."""

    class Role(models.TextChoices):
        COMMANDER = "commander", _("Incident commander")
        COMMUNICATIONS = "communications", _("Communications lead")
        SCRIBE = "scribe", _("Scribe")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="roles", verbose_name=_("incident"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="incident_roles", verbose_name=_("person")
    )
    assigned_at = models.DateTimeField(_("assigned at"), default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned by"),
    )

    class Meta:
        ordering = ["incident_id", "role"]
        verbose_name = _("incident role")
        verbose_name_plural = _("incident roles")
        constraints = [models.UniqueConstraint(fields=["incident", "role"], name="one_holder_per_incident_role")]

    def __str__(self):
        return f"#{self.incident.number} {self.get_role_display()}: {self.user}"
