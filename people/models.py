"""People as Piquet knows them: their preferences and how to reach them."""

import re

import apprise
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from project import outbound
from project.clock import validate_time_zone
from project.text import conceal, generate_secret, mask_address

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
TELEGRAM_CHAT = re.compile(r"^-?\d{1,20}$|^@[A-Za-z0-9_]{5,32}$")

MAX_RULE_DELAY_MINUTES = 1440
DEFAULT_HEADS_UP_MINUTES = 720
MAX_HEADS_UP_MINUTES = 7 * 24 * 60


def display_name(user):
    """How a person is named in messages and on the timeline."""
    return user.get_full_name() or user.get_username()


class CheckedAddress:
    """A model with `kind` and `address`: cleaning trims the address and checks it against its kind."""

    def address_error(self):
        return validate_address(self.kind, self.address)

    def clean(self):
        super().clean()
        self.address = (self.address or "").strip()
        error = self.address_error()
        if error:
            raise ValidationError({"address": error})


class ContactMethod(CheckedAddress, models.Model):
    """One way to reach a person: an e-mail address, a phone number, a URL …"""

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp")
        VOICE = "voice", _("Voice call")
        SLACK = "slack", _("Slack")
        TELEGRAM = "telegram", _("Telegram")
        WEBHOOK = "webhook", _("Webhook")
        APPRISE = "apprise", _("Other (Apprise URL)")

    PHONE_KINDS = (Kind.SMS, Kind.WHATSAPP, Kind.VOICE)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="contact_methods",
        verbose_name=_("person"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    address = models.CharField(
        _("address"),
        max_length=500,
        help_text=_(
            "E-mail address; phone number in E.164 form (+41791234567) for SMS, WhatsApp and voice; "
            "Slack incoming-webhook URL; Telegram chat id; webhook URL; or any Apprise URL."
        ),
    )
    label = models.CharField(_("label"), max_length=100, blank=True, help_text=_("E.g. 'work phone'."))
    enabled = models.BooleanField(_("enabled"), default=True)
    secret = models.CharField(
        _("signing secret"),
        max_length=64,
        default=generate_secret,
        editable=False,
        help_text=_("Webhooks are signed with HMAC-SHA256 of the body under this secret (X-Piquet-Signature)."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        db_table = "comms_contactmethod"
        ordering = ["user_id", "kind", "id"]
        verbose_name = _("contact method")
        verbose_name_plural = _("contact methods")

    def __str__(self):
        return f"{self.get_kind_display()}: {self.label or conceal(self.kind, self.address)}"

    @property
    def masked_address(self):
        """The address without what could be a credential (for logs and lists)."""
        return mask_address(self.kind, self.address)


def validate_address(kind, address):
    """Return an error message for an address that does not fit its kind, else None."""
    Kind = ContactMethod.Kind
    if kind == Kind.EMAIL:
        try:
            EmailValidator()(address)
        except ValidationError:
            return _("Enter a valid e-mail address.")
    elif kind in ContactMethod.PHONE_KINDS:
        if not E164.match(address):
            return _("Enter the phone number in E.164 form: + then country code and number, e.g. +41791234567.")
    elif kind in (Kind.SLACK, Kind.WEBHOOK):
        try:
            URLValidator(schemes=["http", "https"])(address)
        except ValidationError:
            return _("Enter a valid http(s) URL.")
        return outbound.refusal(address)
    elif kind == Kind.TELEGRAM:
        if not TELEGRAM_CHAT.match(address):
            return _("Enter a Telegram chat id (a number) or @channelname.")
    elif kind == Kind.APPRISE:
        if not apprise.Apprise().add(address):
            return _("Apprise does not understand this URL.")
        return outbound.refusal(address)
    else:
        return _("Unknown kind of contact method.")
    return None


class NotificationRule(models.Model):
    """Reach this person by that method so many minutes after they are paged."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_rules",
        verbose_name=_("person"),
    )
    contact_method = models.ForeignKey(
        ContactMethod, on_delete=models.CASCADE, related_name="rules", verbose_name=_("contact method")
    )

    class Urgency(models.TextChoices):
        ANY = "any", _("Any urgency")
        HIGH = "high", _("High urgency only")
        LOW = "low", _("Low urgency only")

    delay_minutes = models.PositiveIntegerField(
        _("delay (minutes)"),
        default=0,
        validators=[MaxValueValidator(MAX_RULE_DELAY_MINUTES)],
        help_text=_("Minutes after being paged; 0 means at once."),
    )
    urgency = models.CharField(
        _("urgency"),
        max_length=4,
        choices=Urgency.choices,
        default=Urgency.ANY,
        help_text=_("Which incidents this rule is for: e.g. a call for high urgency, an e-mail for low."),
    )

    class Meta:
        db_table = "comms_notificationrule"
        ordering = ["user_id", "delay_minutes", "id"]
        verbose_name = _("notification rule")
        verbose_name_plural = _("notification rules")
        constraints = [
            models.UniqueConstraint(
                fields=["contact_method", "delay_minutes", "urgency"], name="one_rule_per_method_delay_and_urgency"
            ),
        ]

    def __str__(self):
        return _("%(method)s after %(minutes)s min") % {"method": self.contact_method, "minutes": self.delay_minutes}

    def clean(self):
        super().clean()
        if self.contact_method_id and self.user_id and self.contact_method.user_id != self.user_id:
            raise ValidationError({"contact_method": _("This contact method belongs to someone else.")})


class Profile(models.Model):
    """A person's preferences for the messages Piquet sends them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="piquet_profile", verbose_name=_("person")
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("Language of the pages and messages this person receives."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_(
            "Where you are, as an IANA name (e.g. Europe/Zurich): times are shown to you there. "
            "Empty: the installation's time zone (TIME_ZONE)."
        ),
    )
    notify_on_acknowledge = models.BooleanField(
        _("tell me when an incident I was paged for is acknowledged"), default=True
    )
    heads_up_minutes = models.PositiveIntegerField(
        _("heads-up before a shift (minutes)"),
        null=True,
        blank=True,
        default=DEFAULT_HEADS_UP_MINUTES,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_HEADS_UP_MINUTES)],
        help_text=_(
            "How long before each of your on-call shifts you are told it is coming (720 = 12 hours; "
            "at most 10080 = 7 days). Empty: no heads-up."
        ),
    )
    notify_on_resolve = models.BooleanField(_("tell me when an incident I was paged for is resolved"), default=True)

    class Meta:
        db_table = "comms_profile"
        verbose_name = _("notification preferences")
        verbose_name_plural = _("notification preferences")

    def __str__(self):
        return str(self.user)


def profile_of(user):
    """The person's preferences, or unsaved defaults."""
    try:
        return user.piquet_profile
    except Profile.DoesNotExist:
        return Profile(user=user)


def person_language(user):
    """The language a person reads messages in."""
    return profile_of(user).language


def immediate_methods(user):
    """How a person is told something now: (kind, address, method) from their immediate notification rules;
    else their enabled e-mail methods; else their account's e-mail (method None)."""
    rules = NotificationRule.objects.filter(user=user, contact_method__enabled=True, delay_minutes=0).select_related(
        "contact_method"
    )
    methods = [(r.contact_method.kind, r.contact_method.address, r.contact_method) for r in rules]
    if methods:
        return methods
    emails = [m for m in user.contact_methods.all() if m.enabled and m.kind == ContactMethod.Kind.EMAIL]
    if emails:
        return [(m.kind, m.address, m) for m in emails]
    if user.email:
        return [(ContactMethod.Kind.EMAIL, user.email, None)]
    return []


def paging_methods(user, *, immediate_only=False, urgency=None):
    """(contact method, delay) pairs from the person's rules (those for `urgency`, "high" or "low", when given);
    their e-mail at once when none applies."""
    rules = NotificationRule.objects.filter(user=user, contact_method__enabled=True).select_related("contact_method")
    if urgency:
        rules = rules.filter(urgency__in=[NotificationRule.Urgency.ANY, urgency])
    pairs = [(rule.contact_method, rule.delay_minutes) for rule in rules]
    if immediate_only:
        pairs = [(m, d) for m, d in pairs if d == 0]
    if pairs:
        return pairs
    method = ContactMethod.objects.filter(user=user, kind=ContactMethod.Kind.EMAIL, enabled=True).first()
    if method is None and user.email:
        method = ContactMethod.objects.create(user=user, kind=ContactMethod.Kind.EMAIL, address=user.email)
    return [(method, 0)] if method else []


class Team(models.Model):
    """A group of people who own services, schedules, policies and the rest together."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True, help_text=_("Short name used in URLs and SSO."))
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", verbose_name=_("members")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self):
        return self.name


class TeamMembership(models.Model):
    """A person in a team, as a member or as one of its managers."""

    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        MANAGER = "manager", _("Team manager")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships", verbose_name=_("person")
    )
    role = models.CharField(
        _("team role"),
        max_length=10,
        choices=Role.choices,
        default=Role.MEMBER,
        help_text=_("Team managers manage the team's services, schedules, policies and other objects."),
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")]
        ordering = ["team__name", "user__username"]
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")

    def __str__(self):
        return f"{self.user} · {self.team}"


def owning_team():
    """The `team` field of what a team owns (services, schedules, policies, …): empty is organisation-wide."""
    return models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
        help_text=_(
            "The team that owns this: its members see it and its team managers manage it. "
            "Empty: organisation-wide, seen by everyone."
        ),
    )
