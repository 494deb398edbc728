"""Plays (the written process of an incident) and the tasks an incident was given by them or by people."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models.choices import (
    validate_incident_types,
    validate_severities,
)
from incidents.models.core import Incident
from incidents.models.process import IncidentRole
from incidents.models.services import Service
from people.models import owning_team

MAX_DUE_MINUTES = 7 * 24 * 60
MAX_TASKS = 50  # tasks in one play
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_SKIP_REASON = 500


def validate_roles(value):
    if not isinstance(value, list) or any(item not in IncidentRole.Role.values for item in value):
        raise ValidationError(_("Give a list of roles among %(all)s.") % {"all": ", ".join(IncidentRole.Role.values)})


class PlayQuerySet(models.QuerySet):
    def for_incident(self, incident):
        """Enabled plays whose services, severities and types fit the incident (an empty list is "any")."""
        candidates = (
            self.filter(enabled=True)
            .filter(Q(services=None) | Q(services=incident.service_id))
            .distinct()
            .order_by("name", "pk")
        )
        return [play for play in candidates if play.applies_to(incident)]


class Play(models.Model):
    """What to do when an incident of some kind opens: tasks, roles to fill, people to call in, who to tell."""

    name = models.CharField(_("name"), max_length=200, help_text=_("e.g. 'Major outage' or 'Security incident'."))
    team = owning_team()
    description = models.TextField(_("description"), blank=True, help_text=_("When to use this play (Markdown)."))
    enabled = models.BooleanField(
        _("enabled"), default=True, help_text=_("A disabled play never runs by itself; people may still run it.")
    )
    services = models.ManyToManyField(
        Service,
        blank=True,
        related_name="plays",
        verbose_name=_("services"),
        help_text=_("Incidents of these services; none means every service."),
    )
    severities = models.JSONField(
        _("severities"),
        default=list,
        blank=True,
        validators=[validate_severities],
        help_text=_("Incidents of these severities; none means every severity."),
    )
    incident_types = models.JSONField(
        _("incident types"),
        default=list,
        blank=True,
        validators=[validate_incident_types],
        help_text=_("Incidents of these types; none means any type (and incidents whose type is not set yet)."),
    )
    roles = models.JSONField(
        _("roles to fill"),
        default=list,
        blank=True,
        validators=[validate_roles],
        help_text=_("Roles the incident must have filled once the play ran (commander, communications, scribe)."),
    )
    responder_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="plays_responding",
        verbose_name=_("people to add"),
        help_text=_("People called in as responders when the play runs."),
    )
    responder_schedules = models.ManyToManyField(
        "rotations.Schedule",
        blank=True,
        related_name="plays",
        verbose_name=_("schedules to add"),
        help_text=_("Whoever is on call on these schedules is called in."),
    )
    responder_policies = models.ManyToManyField(
        "rotations.EscalationPolicy",
        blank=True,
        related_name="plays",
        verbose_name=_("escalation policies to add"),
        help_text=_("These call chains are paged too."),
    )
    bridge_url = models.URLField(
        _("conference bridge URL"),
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Where responders meet, e.g. https://meet.example.com/incident (http or https only)."),
    )
    bridge_phone = models.CharField(
        _("conference bridge phone"),
        max_length=100,
        blank=True,
        help_text=_("A dial-in number with its PIN, e.g. +41 44 000 00 00 PIN 123456."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = PlayQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("play")
        verbose_name_plural = _("plays")

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        phone = (self.bridge_phone or "").strip()
        if phone and not any(ch.isdigit() for ch in phone):
            raise ValidationError({"bridge_phone": _("Give a phone number, e.g. +41 44 000 00 00 PIN 123456.")})

    def applies_to(self, incident):
        """Whether the play fits the incident's severity and type (services are matched by the query)."""
        if self.severities and incident.severity not in self.severities:
            return False
        return not self.incident_types or incident.incident_type in self.incident_types


class PlayTask(models.Model):
    """One step of a play's checklist, copied onto the incident when the play runs."""

    play = models.ForeignKey(Play, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("play"))
    position = models.PositiveIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=MAX_TITLE)
    description = models.TextField(
        _("description"), blank=True, max_length=MAX_DESCRIPTION, help_text=_("How to do it (Markdown, with links).")
    )
    role = models.CharField(
        _("role responsible"),
        max_length=20,
        choices=IncidentRole.Role.choices,
        blank=True,
        help_text=_("Who on the incident does it. Empty: the commander."),
    )
    due_minutes = models.PositiveIntegerField(
        _("due after (minutes)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_DUE_MINUTES)],
        help_text=_("Due this many minutes after the play runs; overdue tasks remind people. Empty: no due time."),
    )
    required = models.BooleanField(
        _("required before resolution"),
        default=False,
        help_text=_("A person resolving the incident with this task open is asked to confirm."),
    )

    class Meta:
        ordering = ["play_id", "position", "id"]
        verbose_name = _("play task")
        verbose_name_plural = _("play tasks")

    def __str__(self):
        return self.title


class PlayRun(models.Model):
    """A play ran on an incident: at most once each (by itself or by hand)."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="play_runs", verbose_name=_("incident")
    )
    play = models.ForeignKey(
        Play, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs", verbose_name=_("play")
    )
    play_name = models.CharField(_("play name"), max_length=200)
    roles = models.JSONField(_("roles to fill"), default=list, blank=True)
    ran_at = models.DateTimeField(_("ran at"), default=timezone.now)
    ran_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ran by"),
    )
    tasks_added = models.PositiveIntegerField(_("tasks added"), default=0)

    class Meta:
        ordering = ["ran_at", "id"]
        verbose_name = _("play run")
        verbose_name_plural = _("play runs")
        constraints = [models.UniqueConstraint(fields=["incident", "play"], name="one_run_per_incident_and_play")]

    def __str__(self):
        return f"#{self.incident_id} {self.play_name}"


class IncidentTask(models.Model):
    """A task on an incident: copied from a play (kept as it was, whatever happens to the play) or added by hand.

    Changed only through incidents.checklist.
    """

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("incident"))
    run = models.ForeignKey(
        PlayRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks", verbose_name=_("play run")
    )
    play = models.ForeignKey(
        Play, on_delete=models.SET_NULL, null=True, blank=True, related_name="incident_tasks", verbose_name=_("play")
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=MAX_TITLE)
    description = models.TextField(_("description"), blank=True)
    role = models.CharField(_("role responsible"), max_length=20, choices=IncidentRole.Role.choices, blank=True)
    required = models.BooleanField(_("required before resolution"), default=False)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incident_tasks",
        verbose_name=_("assignee"),
    )
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    skip_reason = models.CharField(_("why skipped"), max_length=MAX_SKIP_REASON, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )

    class Meta:
        ordering = ["incident_id", "position", "id"]
        verbose_name = _("incident task")
        verbose_name_plural = _("incident tasks")
        indexes = [models.Index(fields=["state", "due_at", "reminded_at"], name="incidenttask_due")]

    def __str__(self):
        return self.title

    @property
    def is_open(self):
        return self.state == self.State.OPEN
