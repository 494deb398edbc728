"""Responders called in to an incident: who was asked, by whom, and what they answered."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models.core import Incident

MAX_REQUEST_MESSAGE = 1000


class ResponderEscalation(models.Model):
    """An escalation policy asked to send a responder: its chain runs, step by step, until someone of it joins.

    Separate from the incident's own call chain (which stops on acknowledgement): this one stops when one
    of the people it asked joins, when the incident is resolved, or when its steps are used up.
    """

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        JOINED = "joined", _("Stopped: someone joined")
        RESOLVED = "resolved", _("Stopped: resolved")
        EXHAUSTED = "exhausted", _("Exhausted: nobody joined")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="responder_escalations", verbose_name=_("incident")
    )
    policy_name = models.CharField(_("policy"), max_length=200)
    snapshot = models.JSONField(
        _("policy snapshot"), default=dict, help_text=_("The chain as it was when the request was made.")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    message = models.TextField(_("message"), max_length=MAX_REQUEST_MESSAGE, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.RUNNING)
    step = models.SmallIntegerField(
        _("step"), default=-1, help_text=_("Index of the last step fired; -1 before the first.")
    )
    next_at = models.DateTimeField(_("next step at"), null=True, blank=True, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("responder escalation")
        verbose_name_plural = _("responder escalations")

    def __str__(self):
        return f"#{self.incident.number} {self.policy_name} {self.get_state_display()}"

    @property
    def steps(self):
        return self.snapshot.get("steps", [])


class ResponderRequest(models.Model):
    """One person asked to join an incident's response; they join or decline."""

    class State(models.TextChoices):
        PAGED = "paged", _("Paged")
        JOINED = "joined", _("Joined")
        DECLINED = "declined", _("Declined")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="responder_requests", verbose_name=_("incident")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="responder_requests",
        verbose_name=_("person"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    message = models.TextField(
        _("message"), max_length=MAX_REQUEST_MESSAGE, blank=True, help_text=_("Why this person is asked to help.")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PAGED)
    via = models.CharField(
        _("via"),
        max_length=200,
        blank=True,
        help_text=_("How the person was named: directly, on call for a schedule, or by an escalation policy."),
    )
    escalation = models.ForeignKey(
        ResponderEscalation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requests",
        verbose_name=_("responder escalation"),
    )
    created_at = models.DateTimeField(_("asked at"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("responder request")
        verbose_name_plural = _("responder requests")
        constraints = [
            # One open request per person and incident; a person who declined may be asked again.
            models.UniqueConstraint(
                fields=["incident", "user"], condition=Q(state="paged"), name="one_open_responder_request"
            )
        ]

    def __str__(self):
        return f"#{self.incident.number} {self.user} {self.state}"

    @property
    def is_open(self):
        return self.state == self.State.PAGED
