"""Escalation policies: the call chain a service's incidents climb."""

import functools
import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from people.models import owning_team

# A policy's steps are kept this long per process, like the integrations behind keys
# (incidents.models.core): a new incident then reads none of them. A change made in this
# process is seen at once (the signals at the end), one made elsewhere within these seconds.
CHAIN_CACHE_SECONDS = 5
_chains = {}


def forget_chains(**_signal):
    _chains.clear()


class EscalationPolicy(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    team = owning_team()
    repeat = models.PositiveSmallIntegerField(
        _("repeat"),
        default=0,
        validators=[MaxValueValidator(9)],
        help_text=_("How many more times the whole chain runs when nobody acknowledges (0–9)."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        app_label = "rotations"
        ordering = ["name"]
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")

    def __str__(self):
        return self.name

    def snapshot(self):
        """The chain as plain data (what a running escalation follows)."""
        return {
            "policy": self.pk,
            "name": self.name,
            "repeat": self.repeat,
            "steps": self._steps_snapshot(),
        }

    def _steps_snapshot(self):
        """The steps and their targets, read in one query, or kept from a moment ago (see CHAIN_CACHE_SECONDS)."""
        now = time.monotonic()
        cached = _chains.get(self.pk)
        if cached is not None and cached[0] > now:
            return _copy(cached[1])
        steps = self._read_steps()
        if len(_chains) > 1_000:
            _chains.clear()
        _chains[self.pk] = (now + CHAIN_CACHE_SECONDS, steps)
        return _copy(steps)

    def _read_steps(self):
        chain = {}
        with connection.cursor() as cursor:
            cursor.execute(_chain_sql(), {"policy": self.pk})
            for pk, position, minutes, person, schedule in cursor.fetchall():
                step = chain.setdefault((position, pk), {"minutes": minutes, "people": set(), "schedules": set()})
                if person is not None:
                    step["people"].add(person)
                if schedule is not None:
                    step["schedules"].add(schedule)
        return [_step(step["minutes"], step["people"], step["schedules"]) for _, step in sorted(chain.items())]

    def in_words(self):
        """E.g. "1. on call for Platform — after 5 min → 2. Alice Martin — after 10 min"."""
        parts = []
        for index, step in enumerate(sorted(self.steps.all(), key=lambda s: (s.position, s.pk)), start=1):
            names = [u.get_full_name() or u.get_username() for u in step.users.all()]
            names += [gettext("on call for %(schedule)s") % {"schedule": s.name} for s in step.schedules.all()]
            parts.append(
                gettext("%(index)s. %(targets)s — after %(minutes)s min")
                % {
                    "index": index,
                    "targets": ", ".join(names) or gettext("nobody"),
                    "minutes": step.escalate_after_minutes,
                }
            )
        text = " → ".join(parts) or gettext("no steps")
        if self.repeat:
            text += " " + gettext("(repeated %(count)s more time(s))") % {"count": self.repeat}
        return text


class EscalationStep(models.Model):
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="steps", verbose_name=_("escalation policy")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    escalate_after_minutes = models.PositiveIntegerField(
        _("escalate after (minutes)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text=_("If nobody acknowledges this long after this step fired, the next step fires."),
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="escalation_steps", verbose_name=_("people")
    )
    schedules = models.ManyToManyField(
        "rotations.Schedule",
        blank=True,
        related_name="escalation_steps",
        verbose_name=_("schedules"),
        help_text=_("Whoever is on call on these schedules when the step fires."),
    )

    class Meta:
        app_label = "rotations"
        ordering = ["policy", "position", "id"]
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")

    def __str__(self):
        return f"{self.policy} #{self.position + 1}"

    def snapshot(self):
        """This step as plain data, from prefetched targets (API lists); see EscalationPolicy.snapshot."""
        return _step(
            self.escalate_after_minutes,
            [u.pk for u in self.users.all()],
            [s.pk for s in self.schedules.all()],
        )


@functools.cache
def _chain_sql():
    """One row per step and target: (step, position, minutes, person or NULL, schedule or NULL)."""
    quote = connection.ops.quote_name
    step = EscalationStep._meta
    columns = f"s.{quote(step.pk.column)}, s.position, s.escalate_after_minutes"
    parts = []
    for name, picked in (("users", "t.{column}, NULL"), ("schedules", "NULL, t.{column}")):
        through = step.get_field(name).remote_field.through._meta
        own = quote(step.get_field(name).m2m_column_name())
        target = quote(step.get_field(name).m2m_reverse_name())
        parts.append(
            f"SELECT {columns}, {picked.format(column=target)} FROM {quote(step.db_table)} s "  # noqa: S608 (model metadata)
            f"LEFT JOIN {quote(through.db_table)} t ON t.{own} = s.{quote(step.pk.column)} "
            f"WHERE s.{quote(step.get_field('policy').column)} = %(policy)s"
        )
    return " UNION ALL ".join(parts)


def _copy(steps):
    """A copy of cached steps that the caller may change (what `copy.deepcopy` does, a tenth of its cost)."""
    return [{**step, "targets": [dict(target) for target in step["targets"]]} for step in steps]


def _step(minutes, people, schedules):
    return {
        "escalate_after_minutes": minutes,
        "targets": [{"type": "user", "id": pk} for pk in sorted(people)]
        + [{"type": "schedule", "id": pk} for pk in sorted(schedules)],
    }


for _model in (EscalationPolicy, EscalationStep, "rotations.Schedule", settings.AUTH_USER_MODEL):
    post_save.connect(forget_chains, sender=_model, dispatch_uid=f"forget-chains-save-{_model}")
    post_delete.connect(forget_chains, sender=_model, dispatch_uid=f"forget-chains-delete-{_model}")
for _through in (EscalationStep.users.through, EscalationStep.schedules.through):
    m2m_changed.connect(forget_chains, sender=_through, dispatch_uid=f"forget-chains-{_through.__name__}")
