"""The incident process: what severities mean, who holds which role, and the events other apps follow."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from incidents.models.choices import PublicStatus, Severity
from incidents.models.core import Incident


class SeverityDefinition(models.Model):
    """What a severity means, whether stakeholders hear of it and how often they get updates."""

    # (description, inform stakeholders, cadence in minutes, public impact); the texts are msgids:
    # a stored default is shown in the reader's language, a text someone wrote is shown as written.
    DEFAULTS = {
        Severity.SEV1: (gettext_noop("SEV1: the site is down for everyone."), True, 30, gettext_noop("Major outage")),
        Severity.SEV2: (
            gettext_noop("SEV2: a major feature is broken for many people."),
            True,
            60,
            gettext_noop("Partial outage"),
        ),
        Severity.SEV3: (
            gettext_noop("SEV3: a minor feature is degraded; there is a workaround."),
            True,
            240,
            gettext_noop("Degraded performance"),
        ),
        Severity.SEV4: (
            gettext_noop("SEV4: cosmetic or internal; nobody outside the team notices."),
            False,
            None,
            gettext_noop("Minor issue"),
        ),
    }
    # The public status a severity proposes when someone posts an update (they may choose another).
    PROPOSED_STATUS = {
        Severity.SEV1: PublicStatus.MAJOR_OUTAGE,
        Severity.SEV2: PublicStatus.PARTIAL_OUTAGE,
        Severity.SEV3: PublicStatus.DEGRADED_PERFORMANCE,
        Severity.SEV4: PublicStatus.OPERATIONAL,
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
    public_impact = models.CharField(
        _("public impact"),
        max_length=100,
        blank=True,
        help_text=_(
            "How the status page names an incident of this severity, e.g. 'Partial outage'. Severity codes and "
            "role names never appear publicly. Empty: the built-in label."
        ),
    )
    required_roles = models.JSONField(
        _("required roles"),
        default=list,
        blank=True,
        help_text=_("Roles an incident of this severity must have filled (commander, communications, scribe)."),
    )
    requires_review = models.BooleanField(
        _("requires a review"),
        default=False,
        help_text=_("A post-incident review is drafted from the record when an incident of this severity is resolved."),
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

    @property
    def description_text(self):
        """The description in the active language (a built-in one is translated)."""
        return gettext(self.description) if self.description else ""

    @property
    def impact_text(self):
        """The public impact in the active language."""
        impact = self.public_impact or self.DEFAULTS.get(self.severity, ("", False, None, ""))[3]
        return gettext(impact) if impact else ""

    @property
    def proposed_status(self):
        return self.PROPOSED_STATUS.get(self.severity, PublicStatus.OPERATIONAL)

    @classmethod
    def default(cls, severity):
        description, inform, cadence, _impact = cls.DEFAULTS.get(severity, ("", False, None, ""))
        roles = ["commander", "communications"] if severity in (Severity.SEV1, Severity.SEV2) else []
        return cls(
            severity=severity,
            description=description,
            inform_stakeholders=inform,
            update_cadence_minutes=cadence,
            required_roles=roles,
            requires_review=severity in (Severity.SEV1, Severity.SEV2),
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


class IncidentEvent(models.Model):
    """Something that happened to an incident, for the apps that follow it. Handled once it is done."""

    class Kind(models.TextChoices):
        TRIGGERED = "triggered", _("Triggered or declared")
        SEVERITY_CHANGED = "severity_changed", _("Severity changed")
        ROLE_ASSIGNED = "role_assigned", _("Role assigned")
        RESOLVED = "resolved", _("Resolved")
        TYPE_CHANGED = "type_changed", _("Type changed")
        PLAY_RAN = "play_ran", _("Play ran")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events", verbose_name=_("incident"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("incident event")
        verbose_name_plural = _("incident events")
        indexes = [models.Index(fields=["due_at"], condition=Q(done_at__isnull=True), name="incidentevent_pending")]

    def __str__(self):
        return f"#{self.incident_id} {self.kind}"
