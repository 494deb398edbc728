"""A message to a person that is not a page: a heads-up before a shift, a swap request, a reminder."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from delivery.models import OutboxMessage


class Notice(OutboxMessage):
    """One message to one person by one contact method, written in their language when it is created."""

    class Kind(models.TextChoices):
        HEADS_UP = "heads_up", _("Shift heads-up")
        HANDOFF = "handoff", _("Handoff")
        SWAP = "swap", _("Swap or cover request")
        SCHEDULE = "schedule", _("Schedule problem")
        TASK = "task", _("Task reminder")
        ACTION_ITEM = "action_item", _("Action item reminder")
        OTHER = "other", _("Other")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    contact_method = models.ForeignKey(
        "people.ContactMethod", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact method")
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notices",
        verbose_name=_("incident"),
    )
    subject = models.CharField(_("subject"), max_length=255)
    text = models.TextField(_("text"))
    short = models.CharField(
        _("short text"), max_length=320, blank=True, help_text=_("What a phone (SMS, WhatsApp) gets.")
    )
    url = models.URLField(_("link"), max_length=500, blank=True)
    key = models.CharField(
        _("key"),
        max_length=200,
        blank=True,
        help_text=_("What this notice is about (e.g. one shift's heads-up): the same key is sent once."),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "user", "contact_method"], condition=~Q(key=""), name="one_notice_per_key_and_method"
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="notice_status_due")]

    def __str__(self):
        return f"{self.kind} → {self.user} ({self.status})"


class ShiftCheck(models.Model):
    """When the worker next looks at the schedules for heads-ups and handoffs (one row per kind of check)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    next_at = models.DateTimeField(_("next check at"))

    class Meta:
        verbose_name = _("shift check")
        verbose_name_plural = _("shift checks")

    def __str__(self):
        return f"{self.name} {self.next_at:%Y-%m-%d %H:%M:%S}"
