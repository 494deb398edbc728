"""Integrations, incidents, their alerts and their timeline."""

import secrets
import time
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.db.models.lookups import Exact
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from incidents.models.choices import (
    IncidentType,
    Severity,
    Status,
    Urgency,
)
from incidents.models.services import Service
from incidents.models.webhook import WebhookExpressions
from people.teams import is_org_admin, team_ids

KEY_LENGTH = 32
MAX_HEARTBEAT_SECONDS = 7 * 24 * 3600


def generate_integration_key():
    """A random 32-character key (hex), unguessable and URL-safe."""
    return secrets.token_hex(KEY_LENGTH // 2)


INTEGRATION_CACHE_SECONDS = 5
_INTEGRATIONS = {}


def forget_integrations():
    _INTEGRATIONS.clear()


class Integration(WebhookExpressions, models.Model):
    class Kind(models.TextChoices):
        EVENTS_V2 = "events_v2", _("Events API v2 (PagerDuty-compatible)")
        ALERTMANAGER = "alertmanager", _("Prometheus Alertmanager webhook")
        HEARTBEAT = "heartbeat", _("Heartbeat (an incident when pings stop)")
        EMAIL = "email", _("E-mail (messages piped in by the mail server)")
        WEBHOOK = "webhook", _("Generic webhook (any JSON, read with JMESPath)")

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
    max_events_per_minute = models.PositiveIntegerField(
        _("events per minute at most"),
        null=True,
        blank=True,
        help_text=_("Optional: more events in a minute are answered 429. Empty: no limit (alert storms get through)."),
    )
    default_severity = models.CharField(
        _("default severity"),
        max_length=4,
        choices=Severity.choices,
        default=Severity.SEV3,
        help_text=_("Webhook: the severity when the severity expression gives nothing known."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    period_seconds = models.PositiveIntegerField(
        _("heartbeat period (seconds)"),
        default=300,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_HEARTBEAT_SECONDS)],
        help_text=_("Heartbeat: a ping is expected at least this often, e.g. 300 for a job every 5 minutes."),
    )
    grace_seconds = models.PositiveIntegerField(
        _("heartbeat grace (seconds)"),
        default=60,
        validators=[MaxValueValidator(MAX_HEARTBEAT_SECONDS)],
        help_text=_("Heartbeat: how much later than the period a ping may come before an incident opens."),
    )
    last_ping_at = models.DateTimeField(_("last ping"), null=True, blank=True, editable=False)
    # Heartbeat: when a missing ping opens an incident (the ticker's one indexed query; none once missed).
    heartbeat_due_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    heartbeat_missed = models.BooleanField(default=False, editable=False)

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
        if self.kind == self.Kind.HEARTBEAT and not self.heartbeat_missed and kwargs.get("update_fields") is None:
            # A new period or grace counts from the last ping; a heartbeat never pinged is due from its creation.
            seconds = self.period_seconds + self.grace_seconds
            self.heartbeat_due_at = (self.last_ping_at or self.created_at) + timedelta(seconds=seconds)
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
        # Whether it has routing rules comes in the same query: an integration without any costs nothing more.
        rules = apps.get_model("incidents", "RoutingRule").objects.filter(integration=OuterRef("pk"))
        integration = (
            cls.objects.select_related("service").annotate(has_routing_rules=Exists(rules)).filter(key=key).order_by()
        )[:1]
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
    def webhook_url(self):
        return settings.PIQUET_BASE_URL + reverse("generic-webhook", args=[self.key])

    @property
    def url(self):
        """The URL a monitoring tool posts to for this integration's kind ("" for e-mail: the mail server pipes)."""
        if self.kind == self.Kind.ALERTMANAGER:
            return self.alertmanager_url
        if self.kind == self.Kind.HEARTBEAT:
            return settings.PIQUET_BASE_URL + reverse("heartbeat-ping", args=[self.key])
        if self.kind == self.Kind.WEBHOOK:
            return self.webhook_url
        return "" if self.kind == self.Kind.EMAIL else self.events_url


# The resolved status as an SQL literal: statements that look for open incidents write it in (see open()).
OPEN_STATUS_SQL = f"'{Status.RESOLVED}'"


class IncidentQuerySet(models.QuerySet):
    def open(self):
        """Incidents not resolved. The status is written into the statement, not bound as a parameter: only
        then can SQLite's and PostgreSQL's planners (the latter for a prepared statement's generic plan) use the
        index of open incidents (`one_open_incident_per_dedup_key`) instead of reading all of a service's."""
        return self.filter(~Q(Exact(F("status"), RawSQL(OPEN_STATUS_SQL, ()))))  # noqa: S611 (a constant)

    def involving(self, user):
        """Incidents that paged this person, asked them to respond, or where they hold a role ("mine")."""
        return self.filter(_involves(user))

    def visible_to(self, user):
        """What the person may see: incidents of their teams' and organisation-wide services, and every incident
        that paged them or where they hold a role (organisation administrators: all)."""
        if is_org_admin(user):
            return self
        return self.filter(Q(service__team__isnull=True) | Q(service__team__in=team_ids(user)) | _involves(user))

    def mine_first(self, user):
        """Annotated with `is_mine` (see `involving`), to be ordered by it."""
        return self.annotate(is_mine=_involves(user))


def _involves(user):
    # Pages, roles and responder requests are declared after incidents (incidents.models.paging, .process,
    # .responders).
    page, role = apps.get_model("incidents", "Page"), apps.get_model("incidents", "IncidentRole")
    asked = apps.get_model("incidents", "ResponderRequest")
    return (
        Exists(page.objects.filter(incident=OuterRef("pk"), user=user))
        | Exists(role.objects.filter(incident=OuterRef("pk"), user=user))
        | Exists(asked.objects.filter(incident=OuterRef("pk"), user=user))
    )


class IncidentCounter(models.Model):
    """Hands out incident numbers: one row, incremented under its row lock."""

    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("incident counter")

    def __str__(self):
        return str(self.value)


class Incident(models.Model):
    # Taken from IncidentCounter as the last write of the transaction that creates the incident, so the
    # counter's row lock is held only until that commit; a committed incident always has its number.
    number = models.PositiveBigIntegerField(_("number"), unique=True, null=True, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("service"))
    title = models.CharField(_("title"), max_length=1024)
    description = models.TextField(_("description"), blank=True)
    severity = models.CharField(_("severity"), max_length=4, choices=Severity.choices, default=Severity.SEV2)
    urgency = models.CharField(
        _("urgency"),
        max_length=4,
        choices=Urgency.choices,
        default=Urgency.HIGH,
        help_text=_("High pages at once, at any hour; low waits for the service's support hours."),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.TRIGGERED)
    incident_type = models.CharField(
        _("type"),
        max_length=20,
        choices=IncidentType.choices,
        blank=True,
        help_text=_("What kind of trouble this is (availability, security …); plays may apply to some types."),
    )
    dedup_key = models.CharField(
        _("deduplication key"),
        max_length=255,
        help_text=_("Alerts with this key join this incident while it is open."),
    )
    public_title = models.CharField(
        _("public title"),
        max_length=200,
        blank=True,
        help_text=_(
            "What the status page calls this incident, written by a person. Empty: the service's public name "
            "(never the alert's text)."
        ),
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
        db_index=False,  # see Meta.indexes
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # see Meta.indexes
        related_name="+",
        verbose_name=_("resolved by"),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # see Meta.indexes
        related_name="merged",
        verbose_name=_("merged into"),
        help_text=_("Resolved as a duplicate of this incident, which took its alerts and its dedup key."),
    )
    bridge_url = models.URLField(
        _("conference bridge link"),
        max_length=500,
        blank=True,
        help_text=_("Where responders meet (a video or voice call link, http or https)."),
    )
    bridge_phone = models.CharField(
        _("conference bridge phone"),
        max_length=200,
        blank=True,
        help_text=_("How to dial in, e.g. '+41 44 000 00 00 PIN 1234'."),
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
            # Who acknowledged or resolved, and what a duplicate was merged into, are empty when an incident is
            # opened: indexed only when set, a new incident writes three index entries less.
            *(
                models.Index(fields=[field], condition=Q(**{f"{field}__isnull": False}), name=f"incident_{field}")
                for field in ("acknowledged_by", "resolved_by", "merged_into")
            ),
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

    @property
    def public_label(self):
        """The incident's name on the status page: its public title, else its service's public name."""
        return self.public_title or self.service.public_label


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


def _rendered(value):
    """A timeline parameter in the active language: see TimelineEntry.text."""
    if isinstance(value, dict) and "msgid" in value:
        text = gettext(value["msgid"])
        params = value.get("params")
        return text % {key: _rendered(inner) for key, inner in params.items()} if params else text
    if isinstance(value, list):
        return "\n".join(str(_rendered(item)) for item in value)
    return value


class TimelineEntry(models.Model):
    """One line of an incident's history. Append-only; written only through incidents.timeline."""

    class Kind(models.TextChoices):
        TRIGGERED = "triggered", _("Triggered")
        DECLARED = "declared", _("Declared")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")
        NOTE = "note", _("Note")
        SEVERITY = "severity", _("Severity changed")
        URGENCY = "urgency", _("Urgency changed")
        ALERT = "alert", _("Alert")
        ESCALATED = "escalated", _("Escalated by hand")
        ESCALATION = "escalation", _("Escalation")
        DELIVERY = "delivery", _("Page delivery")
        ROLE = "role", _("Role assigned")
        STATUS_UPDATE = "status_update", _("Stakeholder update")
        STAKEHOLDERS = "stakeholders", _("Stakeholders reached")
        UPDATE_REMINDER = "update_reminder", _("Update reminder")
        DEPLOYMENTS = "deployments", _("Recent deployments")
        FOLLOW_UP = "follow_up", _("Follow-up failed")
        MERGED = "merged", _("Merged")
        RESPONDERS = "responders", _("Responders")
        BRIDGE = "bridge", _("Conference bridge")
        INCIDENT_TYPE = "incident_type", _("Type changed")
        PLAY = "play", _("Play ran")
        TASK = "task", _("Task")

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        db_index=False,  # timeline_incident_at begins with it
        related_name="timeline",
        verbose_name=_("incident"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # see Meta.indexes
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(
        _("actor name"), max_length=200, blank=True, help_text=_("The integration or system when no person acted.")
    )
    message = models.TextField(
        _("message"), help_text=_("The text in English, with named placeholders when it has parameters.")
    )
    params = models.JSONField(
        _("parameters"),
        null=True,
        blank=True,
        help_text=_("The values of the message's placeholders; empty for entries written as final text."),
    )
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        indexes = [
            models.Index(fields=["incident", "at"], name="timeline_incident_at"),
            # Most entries are written by an integration or by Piquet: indexed only when a person wrote them.
            models.Index(fields=["actor"], condition=Q(actor__isnull=False), name="timeline_actor"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError(_("Timeline entries cannot be changed once written."))
        super().save(*args, **kwargs)

    @property
    def text(self):
        """The message in the active language.

        `message` is an English msgid and `params` the values of its
        placeholders; a value written as {"msgid": "…"} is translated too
        (a role, a phase), with its own "params" if it has some, and a list
        of values is shown one per line. Entries without parameters are shown
        as written.
        """
        if self.params is None:
            return self.message
        try:
            return gettext(self.message) % {key: _rendered(value) for key, value in self.params.items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            return self.message

    @property
    def actor_display(self):
        if self.actor_id:
            return self.actor.get_full_name() or self.actor.get_username()
        return self.actor_name or "Piquet"
