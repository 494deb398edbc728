"""Stakeholder communications: groups, subscribers, status updates, their wording, deliveries and cadence."""

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from delivery.models import OutboxMessage
from incidents.models import PublicStatus
from people.models import CheckedAddress, ContactMethod, owning_team, validate_address
from project.text import conceal, generate_secret, mask_address

SEVERITY_CHOICES = [
    ("SEV1", _("SEV1 – critical")),
    ("SEV2", _("SEV2 – major")),
    ("SEV3", _("SEV3 – minor")),
    ("SEV4", _("SEV4 – informational")),
]


class StakeholderGroupQuerySet(models.QuerySet):
    def matching(self, incident):
        """Groups that hear of this incident: its service (or all services) and severity."""
        return self.filter(
            models.Q(services=None) | models.Q(services=incident.service_id),
            min_severity__gte=incident.severity,
        ).distinct()


class StakeholderGroup(models.Model):
    """People and outside addresses told about incidents of some services from some severity."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    team = owning_team()
    services = models.ManyToManyField(
        "incidents.Service",
        blank=True,
        related_name="stakeholder_groups",
        verbose_name=_("services"),
        help_text=_("Incidents of these services reach the group. None: every service."),
    )
    min_severity = models.CharField(
        _("minimum severity"),
        max_length=4,
        choices=SEVERITY_CHOICES,
        default="SEV2",
        help_text=_("The least severe incidents the group hears of: SEV2 means SEV1 and SEV2."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="stakeholder_groups",
        verbose_name=_("members"),
        help_text=_("People reached by their contact methods (voice calls excepted), in their language."),
    )
    plays = models.ManyToManyField(
        "incidents.Play",
        blank=True,
        related_name="stakeholder_groups",
        verbose_name=_("plays"),
        help_text=_("When one of these plays runs on an incident, the group is told, whatever its severities."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = StakeholderGroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("stakeholder group")
        verbose_name_plural = _("stakeholder groups")

    def __str__(self):
        return self.name


class Subscriber(CheckedAddress, models.Model):
    """An outside address told of incidents: of a stakeholder group, or a visitor of the status page."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Webhook (signed JSON)")
        APPRISE = "apprise", _("Slack, Teams … (Apprise URL)")

    group = models.ForeignKey(
        StakeholderGroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscribers",
        verbose_name=_("stakeholder group"),
        help_text=_("Empty: a visitor who subscribed on the public status page (public updates only)."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.EMAIL)
    address = models.CharField(
        _("address"), max_length=500, help_text=_("E-mail address, webhook URL or Apprise URL (slack://, msteams://…).")
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    secret = models.CharField(
        _("signing secret"),
        max_length=64,
        default=generate_secret,
        editable=False,
        help_text=_("Webhooks are signed with HMAC-SHA256 of the body under this secret (X-Piquet-Signature)."),
    )
    confirmed_at = models.DateTimeField(
        _("confirmed at"), null=True, blank=True, help_text=_("Visitors receive updates once they confirm.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["group_id", "kind", "address"]
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        constraints = [
            models.UniqueConstraint(
                fields=["group", "kind", "address"],
                condition=models.Q(group__isnull=False),
                name="one_subscriber_per_group_and_address",
            ),
            models.UniqueConstraint(
                fields=["kind", "address"], condition=models.Q(group__isnull=True), name="one_public_subscriber"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.concealed_address}"

    @property
    def masked_address(self):
        return mask_address(self.kind, self.address)

    @property
    def concealed_address(self):
        """The address as shown to those who may not read it (everywhere but the address field itself)."""
        return conceal(self.kind, self.address)

    @property
    def is_active(self):
        return self.group_id is not None or self.confirmed_at is not None

    def address_error(self):
        return validate_subscriber_address(self.kind, self.address)


def validate_subscriber_address(kind, address):
    """An error message for a subscriber's address that does not fit its kind (the contact method rules)."""
    if kind not in Subscriber.Kind.values:
        return _("Unknown kind of subscriber.")
    return validate_address(kind, address)


class Phase(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")


class StatusUpdate(models.Model):
    """What stakeholders are told about an incident at one moment. Posted through comms.status_updates."""

    class Kind(models.TextChoices):
        NOTICE = "notice", _("First notice (internal)")
        PUBLIC_NOTICE = "public_notice", _("Automatic public notice")
        UPDATE = "update", _("Update")

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="status_updates", verbose_name=_("incident")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.UPDATE)
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, default=Phase.INVESTIGATING)
    message = models.TextField(_("message"), help_text=_("Plain text or Markdown (sanitised)."))
    texts = models.JSONField(
        _("message in each language"),
        default=dict,
        blank=True,
        editable=False,
        help_text=_("For a message Piquet wrote from a template: its text in each language, written once."),
    )
    public = models.BooleanField(_("public"), default=True, help_text=_("Also shown on the public status page."))
    service_status = models.CharField(
        _("service status"),
        max_length=20,
        choices=PublicStatus.choices,
        blank=True,
        help_text=_("The public status of the incident's service this update set. Empty: unchanged."),
    )
    next_update_at = models.DateTimeField(_("next update at"), null=True, blank=True)
    eta = models.DateTimeField(_("expected resolution by"), null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now, db_index=True)
    fan_out_enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    fanned_out_at = models.DateTimeField(
        _("delivery rows written at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Empty until a delivery row is written for every address; the worker's ticker sees to it."),
    )

    class Meta:
        ordering = ["-posted_at", "-id"]
        verbose_name = _("status update")
        verbose_name_plural = _("status updates")
        constraints = [
            models.UniqueConstraint(
                fields=["incident"], condition=models.Q(kind="notice"), name="one_first_notice_per_incident"
            ),
            models.UniqueConstraint(
                fields=["incident"], condition=models.Q(kind="public_notice"), name="one_public_notice_per_incident"
            ),
        ]
        indexes = [models.Index(fields=["incident", "-posted_at"], name="statusupdate_incident_posted")]

    def __str__(self):
        return f"#{self.incident.number} {self.get_phase_display()} {self.posted_at:%Y-%m-%d %H:%M}"

    def text_in(self, language):
        """The message as it was written when posted, in `language` if Piquet wrote it in several."""
        return self.texts.get(language) or self.texts.get(settings.LANGUAGE_CODE) or self.message


class StatusPageSettings(models.Model):
    """The status page's branding; each empty field falls back to its PIQUET_ORG_* / PIQUET_SUPPORT_CONTACT setting."""

    org_name = models.CharField(
        _("organisation name"),
        max_length=200,
        blank=True,
        help_text=_("The page title reads 'Acme status' when this is Acme."),
    )
    logo_url = models.URLField(
        _("logo URL"),
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["https"])],
        help_text=_("An https:// image shown at the top of the page."),
    )
    home_url = models.URLField(
        _("home link"), max_length=500, blank=True, help_text=_("Where the logo and the name link to.")
    )
    support_contact = models.CharField(
        _("support contact"),
        max_length=300,
        blank=True,
        help_text=_("An e-mail address or an https:// link where customers reach support."),
    )

    class Meta:
        verbose_name = _("status page settings")
        verbose_name_plural = _("status page settings")

    def __str__(self):
        return str(_("Status page settings"))

    @classmethod
    def current(cls):
        """The branding in effect: the admin's values over the environment's."""
        row = cls.objects.order_by("pk").first() or cls()
        return {
            "org_name": row.org_name or settings.PIQUET_ORG_NAME,
            "logo_url": row.logo_url or settings.PIQUET_ORG_LOGO_URL,
            "home_url": row.home_url or settings.PIQUET_ORG_URL,
            "support_contact": row.support_contact or settings.PIQUET_SUPPORT_CONTACT,
        }


class MessageTemplate(models.Model):
    """Editable wording: the first notice, the automatic public notice, and the starting text of an update per phase.

    Placeholders: see comms.wording.
    """

    class Purpose(models.TextChoices):
        FIRST_NOTICE = "first_notice", _("First notice (internal)")
        PUBLIC_NOTICE = "public_notice", _("Automatic public notice")
        INVESTIGATING = "investigating", _("Update: investigating")
        IDENTIFIED = "identified", _("Update: identified")
        MONITORING = "monitoring", _("Update: monitoring")
        RESOLVED = "resolved", _("Update: resolved")

    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    body = models.TextField(
        _("text"),
        help_text=_(
            "Placeholders: $public_name $impact $next_update $eta (public); internal texts also $number $title "
            "$service $severity $severity_description $commander. The alert's title ($title) and internal names "
            "never belong in a public text."
        ),
    )

    class Meta:
        ordering = ["purpose", "language"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(fields=["purpose", "language"], name="one_template_per_purpose_and_language")
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} ({self.language})"


class Delivery(OutboxMessage):
    """One stakeholder message to one address: written before it is sent, once per message and address."""

    class Purpose(models.TextChoices):
        STATUS_UPDATE = "status_update", _("Status update")
        REMINDER = "reminder", _("Update reminder")
        ROLE = "role", _("Role assigned")
        FINAL_PROMPT = "final_prompt", _("Final update prompt")
        CONFIRM = "confirm", _("Subscription confirmation")
        MAINTENANCE = "maintenance", _("Scheduled maintenance")

    key = models.CharField(_("message key"), max_length=100, help_text=_("Which message, e.g. 'update:12'."))
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="stakeholder_deliveries",
        verbose_name=_("incident"),
    )
    update = models.ForeignKey(
        StatusUpdate,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("status update"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    contact_method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    kind = models.CharField(_("channel"), max_length=20)
    address = models.CharField(_("address"), max_length=500)
    language = models.CharField(_("language"), max_length=10, default="en")
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("stakeholder delivery")
        verbose_name_plural = _("stakeholder deliveries")
        constraints = [
            models.UniqueConstraint(fields=["key", "kind", "address"], name="one_delivery_per_message_and_address")
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="delivery_status_due"),
            models.Index(fields=["incident", "created_at"], name="delivery_incident_created"),
        ]

    def __str__(self):
        return f"{self.key} → {self.concealed_address} ({self.status})"

    @property
    def masked_address(self):
        return mask_address(self.kind, self.address)

    @property
    def concealed_address(self):
        return conceal(self.kind, self.address)


class UpdateCadence(models.Model):
    """When an incident's next stakeholder update is due, and how far the reminders went."""

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.CASCADE, related_name="update_cadence", verbose_name=_("incident")
    )
    interval_minutes = models.PositiveIntegerField(_("cadence (minutes)"), null=True, blank=True)
    severity = models.CharField(
        _("severity"), max_length=4, blank=True, help_text=_("The incident's severity the cadence was set for.")
    )
    due_at = models.DateTimeField(_("next update due at"), null=True, blank=True)
    stage = models.PositiveSmallIntegerField(
        _("reminders sent"), default=0, help_text=_("0: none yet; 1: the first; 2: the second, commander told.")
    )
    check_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    closed_at = models.DateTimeField(
        _("closed at"), null=True, blank=True, help_text=_("Set once the resolved incident was handled.")
    )

    class Meta:
        verbose_name = _("update cadence")
        verbose_name_plural = _("update cadences")

    def __str__(self):
        return f"#{self.incident.number} due {self.due_at}"


class PostIncidentSummary(models.Model):
    """What the public status page says about an incident once its review is published: written for the
    public by a person, never the review's internal text. Set and withdrawn through comms.post_incident."""

    incident = models.OneToOneField(
        "incidents.Incident",
        on_delete=models.CASCADE,
        related_name="post_incident_summary",
        verbose_name=_("incident"),
    )
    text = models.TextField(_("text"), help_text=_("Plain text or Markdown, shown as sanitised HTML."))
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("post-incident summary")
        verbose_name_plural = _("post-incident summaries")

    def __str__(self):
        return f"#{self.incident_id}"
