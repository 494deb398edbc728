"""The call chain of an incident: its escalation, the people paged, the messages sent to them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from delivery.models import OutboxMessage
from incidents.models.core import Incident


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
    waiting = models.BooleanField(
        _("waiting for support hours"),
        default=False,
        help_text=_("A low-urgency incident outside support hours: the next step fires when they begin."),
    )
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


class Notification(OutboxMessage):
    """One message to one person by one contact method about an incident: written before it is sent."""

    class Purpose(models.TextChoices):
        PAGE = "page", _("Page")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged notice")
        RESOLVED = "resolved", _("Resolved notice")
        RESPONDER_REQUEST = "responder_request", _("Responder request")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("incident")
    )
    page = models.ForeignKey(Page, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications")
    responder_request = models.ForeignKey(
        "incidents.ResponderRequest",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("responder request"),
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.PAGE)
    round = models.SmallIntegerField(_("round"), default=-1)
    step = models.SmallIntegerField(_("step"), default=-1)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    contact_method = models.ForeignKey(
        "people.ContactMethod", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact method")
    )
    delay_minutes = models.PositiveIntegerField(_("delay (minutes)"), default=0)
    due_at = models.DateTimeField(_("due at"), db_index=True)
    response = models.TextField(_("provider response"), blank=True, db_column="provider_response")

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "purpose", "round", "step", "user", "contact_method", "delay_minutes"],
                condition=Q(responder_request__isnull=True),
                name="one_notification_per_rule_and_step",
            ),
            # A person asked again (after declining) is a new request: its messages are its own.
            models.UniqueConstraint(
                fields=["responder_request", "contact_method", "delay_minutes"],
                condition=Q(responder_request__isnull=False),
                name="one_notification_per_rule_and_request",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="notification_status_due")]

    def __str__(self):
        return f"#{self.incident.number} {self.purpose} → {self.user} ({self.status})"
