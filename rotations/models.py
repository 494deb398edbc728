import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from people.models import owning_team
from project import clock
from project.clock import ClockError, get_zone, validate_time_zone  # noqa: F401 (migrations name it here)
from rotations import plans
from rotations.policies import EscalationPolicy, EscalationStep
from rotations.restrictions import ScheduleError, parse_restrictions


def validate_restrictions(value):
    try:
        parse_restrictions(value)
    except ScheduleError as exc:
        raise ValidationError(str(exc), code="invalid_restrictions") from None


def generate_feed_token():
    return secrets.token_urlsafe(32)


def shift_length_error(unit):
    return _("A shift is at most %(count)s %(unit)s.") % {
        "count": plans.MAX_SHIFT_LENGTH[unit],
        "unit": Layer.Unit(unit).label,
    }


class Schedule(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    team = owning_team()
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_("IANA name, e.g. Europe/Zurich. Handoffs keep their local time across DST changes."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    # Managers may add people (users) so that schedules and integrations can name them.
    role_permissions = {"add_person": ("Managers",)}

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        permissions = [("add_person", _("Can add people who take part in schedules"))]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("admin:rotations_schedule_change", args=[self.pk])

    @property
    def zone(self):
        return get_zone(self.time_zone)


class Layer(models.Model):
    class Unit(models.TextChoices):
        HOURS = plans.HOURS, _("hours")
        DAYS = plans.DAYS, _("days")
        WEEKS = plans.WEEKS, _("weeks")
        MONTHS = plans.MONTHS, _("months")

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers", verbose_name=_("schedule"))
    name = models.CharField(_("name"), max_length=200)
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Where layers overlap, the higher priority masks the lower.")
    )
    rotation_start = models.DateTimeField(
        _("rotation start"),
        help_text=_("A handoff instant: the shift grid extends both ways from it, on the schedule's local clock."),
    )
    starts_at = models.DateTimeField(
        _("starts at"), blank=True, help_text=_("When the layer begins to cover. Empty: the rotation start.")
    )
    ends_at = models.DateTimeField(
        _("ends at"), null=True, blank=True, help_text=_("When the layer stops covering. Empty: never.")
    )
    shift_length = models.PositiveIntegerField(
        _("shift length"), default=1, validators=[MinValueValidator(1)], help_text=_("In shift units, at least 1.")
    )
    shift_unit = models.CharField(_("shift unit"), max_length=10, choices=Unit.choices, default=Unit.WEEKS)
    restrictions = models.JSONField(
        _("restrictions"),
        default=list,
        blank=True,
        validators=[validate_restrictions],
        help_text=_(
            'Optional: a list of {"days": ["mon", …], "start": "HH:MM", "end": "HH:MM"} in the schedule\'s zone. '
            "The layer covers only inside one of them; end ≤ start wraps past midnight; start = end is 24 hours."
        ),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["schedule", "-priority", "id"]
        verbose_name = _("layer")
        verbose_name_plural = _("layers")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="layer_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(shift_length__gte=1), name="layer_shift_length_positive"),
        ]

    def __str__(self):
        return f"{self.schedule} · {self.name}"

    def clean(self):
        super().clean()
        if self.starts_at is None:
            self.starts_at = self.rotation_start
        errors = {}
        longest = plans.MAX_SHIFT_LENGTH.get(self.shift_unit)
        if longest and self.shift_length and self.shift_length > longest:
            errors["shift_length"] = shift_length_error(self.shift_unit)
        errors.update(clock.out_of_range(self, ("rotation_start", "starts_at", "ends_at")))
        if not errors and self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must be after the start.")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        if self.starts_at is None:
            self.starts_at = self.rotation_start
        super().save(*args, **kwargs)

    def plan(self, participants=None):
        """This layer as a plans.LayerPlan (participants as user ids, in order; default: its own)."""
        if participants is None:
            participants = self.participant_ids()
        return plans.make_layer(
            time_zone=self.schedule.zone,
            rotation_start=self.rotation_start,
            shift_length=self.shift_length,
            shift_unit=self.shift_unit,
            participants=participants,
            restrictions=parse_restrictions(self.restrictions),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            priority=self.priority,
            id=self.pk,
        )

    def shift_at(self, instant):
        """The raw shift of this layer containing `instant` (a plans.Shift with a user id), or None."""
        return self.plan().shift_at(instant)

    def participant_ids(self):
        return [p.user_id for p in self.participants.all()]

    def set_participants(self, users):
        """Replace the participants by `users` (User objects or ids), in this order."""
        self.participants.all().delete()
        Participant.objects.bulk_create(
            Participant(layer=self, user_id=getattr(user, "pk", user), position=position)
            for position, user in enumerate(users)
        )


class Participant(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="participants", verbose_name=_("layer"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="rotation_turns",
        verbose_name=_("user"),
        limit_choices_to={"is_active": True},  # the admin's people picker offers active people only
    )
    position = models.PositiveIntegerField(
        _("position"), help_text=_("Shift k of the layer belongs to participant k mod n, counted from 0.")
    )

    class Meta:
        ordering = ["layer", "position"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [models.UniqueConstraint(fields=["layer", "position"], name="participant_unique_position")]

    def __str__(self):
        return f"{self.position}: {self.user}"


class Override(models.Model):
    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="overrides", verbose_name=_("schedule")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rotation_overrides", verbose_name=_("user")
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"), help_text=_("Exclusive: the override covers [start, end)."))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(
        _("created at"),
        default=timezone.now,
        editable=False,
        help_text=_("Where overrides overlap, the most recently created one wins."),
    )

    class Meta:
        ordering = ["schedule", "start"]
        verbose_name = _("override")
        verbose_name_plural = _("overrides")
        indexes = [models.Index(fields=["schedule", "end"], name="override_schedule_end")]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="override_ends_after_start")]

    def __str__(self):
        return f"{self.user} · {self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M}"

    def clean(self):
        super().clean()
        errors = clock.out_of_range(self, ("start", "end"))
        if not errors and self.start and self.end and self.end <= self.start:
            errors["end"] = _("The end must be after the start.")
        if errors:
            raise ValidationError(errors)


class SwapRequest(models.Model):
    """A participant asks for cover of part of their own shifts; someone offered takes it (an override is made).

    `told_at` is empty while the people concerned have not been told of the current state (a consumer above
    rotations tells them and fills it in)."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")
        EXPIRED = "expired", _("expired")

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="swap_requests", verbose_name=_("schedule")
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="swap_requests", verbose_name=_("requester")
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"), help_text=_("Exclusive: the request covers [start, end)."))
    offered_to = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="swap_offers",
        verbose_name=_("offered to"),
        help_text=_("The people asked; empty: everyone else on the rotation."),
    )
    declined_by = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("declined by")
    )
    note = models.TextField(_("note"), max_length=1000, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("taken by"),
    )
    override = models.OneToOneField(
        Override,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="swap_request",
        verbose_name=_("override"),
        help_text=_("The override made when the request was accepted."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    told_state = models.CharField(
        _("last told"), max_length=10, blank=True, editable=False, help_text=_("The state people were last told of.")
    )
    told_at = models.DateTimeField(_("told at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("swap request")
        verbose_name_plural = _("swap requests")
        indexes = [
            models.Index(fields=["state", "start"], name="swaprequest_state_start"),
            models.Index(fields=["id"], condition=Q(told_at__isnull=True), name="swaprequest_to_tell"),
        ]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="swaprequest_ends_after_start")]

    def __str__(self):
        return f"{self.requester} · {self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M}"

    def current_state(self, now=None):
        """The state, with an open request whose start has passed counted as expired (before the check sets it)."""
        if self.state == self.State.OPEN and self.start <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.state

    def get_absolute_url(self):
        return reverse("admin:rotations_swaprequest_change", args=[self.pk])


class CalendarFeed(models.Model):
    """A secret iCalendar URL: the final shifts of one schedule, or of one person across schedules.

    Revoke it by deleting it (or by giving it a new token)."""

    token = models.CharField(_("token"), max_length=64, unique=True, default=generate_feed_token, editable=False)
    schedule = models.ForeignKey(
        Schedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feeds",
        verbose_name=_("schedule"),
        help_text=_("Either a schedule …"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="oncall_calendar_feeds",
        verbose_name=_("person"),
        help_text=_("… or a person (their shifts on every schedule)."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            models.CheckConstraint(
                condition=(Q(schedule__isnull=False) & Q(user__isnull=True))
                | (Q(schedule__isnull=True) & Q(user__isnull=False)),
                name="calendarfeed_schedule_xor_user",
            )
        ]

    def __str__(self):
        return str(self.schedule or self.user)

    def clean(self):
        super().clean()
        if (self.schedule_id is None) == (self.user_id is None):
            raise ValidationError(_("Choose either a schedule or a person."))

    def get_absolute_url(self):
        return reverse("rotations:calendar-feed", args=[self.token])

    @property
    def url(self):
        return settings.PIQUET_BASE_URL + self.get_absolute_url()

    def regenerate_token(self):
        self.token = generate_feed_token()
        self.save(update_fields=["token"])


MAX_HANDOFF_NOTE_LENGTH = 5000


class HandoffNote(models.Model):
    """What the person on call wants the next one to know: given to whoever takes over at the handoff."""

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="handoff_notes", verbose_name=_("schedule")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="handoff_notes", verbose_name=_("written by")
    )
    shift_end = models.DateTimeField(
        _("end of the shift"),
        help_text=_("The handoff this note is for: the end of the writer's shift when it was written."),
    )
    text = models.TextField(_("handoff notes"), max_length=MAX_HANDOFF_NOTE_LENGTH)
    written_at = models.DateTimeField(_("written at"), default=timezone.now, editable=False)
    handed_over_at = models.DateTimeField(
        _("handed over at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the note went to the person taking over. Empty: not yet."),
    )
    handed_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("handed to"),
    )

    class Meta:
        ordering = ["-written_at", "-id"]
        verbose_name = _("handoff note")
        verbose_name_plural = _("handoff notes")
        indexes = [models.Index(fields=["schedule", "user", "handed_over_at"], name="handoffnote_pending")]

    def __str__(self):
        return f"{self.schedule} · {self.user} · {self.shift_end:%Y-%m-%d %H:%M}"


__all__ = [
    "CalendarFeed",
    "EscalationPolicy",
    "EscalationStep",
    "HandoffNote",
    "Layer",
    "Override",
    "Participant",
    "Schedule",
    "SwapRequest",
]
