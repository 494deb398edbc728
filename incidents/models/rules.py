"""Routing rules of an integration, and the events their drop rules suppressed."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models.core import Integration, Service, Severity, Urgency, forget_integrations


class RoutingRule(models.Model):
    """One rule of an integration: when its conditions hold, the event goes elsewhere, changed, or nowhere.

    Rules are tried by position; the first that matches decides. Written through incidents.routing's checks
    (admin form, API serializer), read by incidents.routing at ingest time.
    """

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="routing_rules",
        verbose_name=_("integration"),
    )
    position = models.PositiveIntegerField(_("position"), default=1, help_text=_("Rules are tried lowest first."))
    note = models.CharField(_("note"), max_length=200, blank=True, help_text=_("Why this rule exists."))
    match = models.JSONField(_("conditions"), default=dict)
    service = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("route to service"),
        help_text=_("The service that gets the incident. Empty: the integration's own."),
    )
    severity = models.CharField(
        _("set severity"),
        max_length=4,
        blank=True,
        choices=Severity.choices,
        help_text=_("Empty: the severity the event gives."),
    )
    urgency = models.CharField(
        _("set urgency"),
        max_length=4,
        blank=True,
        choices=Urgency.choices,
        help_text=_("Overrides the service's urgency for this severity. Empty: the service decides."),
    )
    title_template = models.CharField(
        _("title template"),
        max_length=1024,
        blank=True,
        help_text=_("E.g. {labels.alertname} on {labels.instance}; a missing field gives nothing. Empty: as sent."),
    )
    dedup_key_template = models.CharField(
        _("deduplication key template"),
        max_length=255,
        blank=True,
        help_text=_("E.g. {labels.alertname}/{labels.instance}: events with the same key form one incident."),
    )
    drop = models.BooleanField(
        _("drop"),
        default=False,
        help_text=_("Suppress matching events: kept for audit under suppressed events, nobody is paged."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["integration", "position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self):
        return f"#{self.position} {self.note or self.pk}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        forget_integrations()

    def delete(self, *args, **kwargs):
        forget_integrations()
        return super().delete(*args, **kwargs)


class SuppressedEvent(models.Model):
    """An event a drop rule suppressed: kept so a person can see what was not paged, and why."""

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="suppressed_events",
        verbose_name=_("integration"),
    )
    rule = models.ForeignKey(
        RoutingRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="suppressed_events",
        verbose_name=_("rule"),
    )
    dedup_key = models.CharField(_("deduplication key"), max_length=255, blank=True)
    summary = models.CharField(_("summary"), max_length=1024, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    repeats = models.PositiveIntegerField(
        _("times received"), default=1, help_text=_("The same event sent again (a re-delivery) counts here.")
    )
    last_received_at = models.DateTimeField(_("last received at"), default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("suppressed event")
        verbose_name_plural = _("suppressed events")
        indexes = [models.Index(fields=["integration", "-received_at"], name="suppressed_integration_at")]

    def __str__(self):
        return f"{self.summary or self.dedup_key}"
