"""The release gate: may this service be deployed at this instant?

No window applies → allowed. An active hard freeze → blocked. Hard release
windows exist and none is active → blocked ("outside release windows"). Soft
windows only warn. An open major incident on the service blocks too, unless
the deploy says it fixes that incident. An approved, current freeze exception
turns a block into an allow, and the decision says so.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.models import Incident, Service
from project import clock
from project import recurrence as window_math
from releases import gate_queries
from releases.models import FreezeException, ReleaseWindow

# How far ahead the gate looks for the end of a block, nearest first, before answering "not known".
SEARCH_HORIZONS = (timedelta(days=2), timedelta(days=8), timedelta(days=35))
DEFAULT_FREEZE_SEVERITIES = ("SEV1", "SEV2")


def freeze_severities():
    return tuple(getattr(settings, "PIQUET_FREEZE_SEVERITIES", DEFAULT_FREEZE_SEVERITIES))


@dataclass
class Reason:
    kind: str  # "window" | "outside_allow" | "incident"
    name: str
    message: str
    until: datetime | None = None

    def as_dict(self):
        return {"kind": self.kind, "name": self.name, "message": self.message, "until": self.until}


@dataclass
class Decision:
    service: Service
    at: datetime
    allowed: bool
    reasons: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    exception: FreezeException | None = None
    next_allowed_at: datetime | None = None
    fixes_incident: Incident | None = None


def _local(t, window):
    return clock.wall_clock(t, window.zone).strftime("%a %Y-%m-%d %H:%M") + f" ({window.time_zone})"


def _window_reason(window, occurrence):
    message = window.message or _("Deploys are frozen until %(until)s.") % {"until": _local(occurrence.end, window)}
    return Reason(kind="window", name=window.name, message=message, until=occurrence.end)


def _outside_reason(allow_windows, at):
    upcoming = []
    for horizon in SEARCH_HORIZONS:
        for window in allow_windows:
            for occurrence in window_math.cached_occurrences(window, at, at + horizon):
                if occurrence.start > at:
                    upcoming.append((occurrence.start, window))
                    break
        if upcoming:
            break
    until, opener = min(upcoming, key=lambda pair: pair[0]) if upcoming else (None, None)
    names = ", ".join(sorted({w.name for w in allow_windows}))
    if opener is not None:
        message = opener.message or _("Outside release windows; the next one (%(name)s) opens %(at)s.") % {
            "name": opener.name,
            "at": _local(until, opener),
        }
    else:
        message = _("Outside release windows.")
    return Reason(kind="outside_allow", name=names, message=message, until=until)


def _incident_reason(incident):
    return Reason(
        kind="incident",
        name=f"#{incident.number} {incident.title}",
        message=_(
            "A %(severity)s incident (#%(number)s) is open on this service: only a deploy that fixes it may go out "
            "(incident=%(number)s)."
        )
        % {"severity": incident.severity, "number": incident.number},
        until=None,
    )


def _window_state(windows, at):
    """Split windows by kind and enforcement, with the occurrence active at `at` (or None)."""
    state = []
    for window in windows:
        state.append((window, window_math.occurrence_at(window, at)))
    return state


def _blocked_by_windows(windows, at):
    """(hard reasons, warnings) from windows alone at `at`."""
    reasons, warnings = [], []
    allow_hard, allow_soft, allow_active = [], [], False
    for window, occurrence in _window_state(windows, at):
        if window.kind == ReleaseWindow.Kind.DENY:
            if occurrence is not None:
                (reasons if window.is_hard else warnings).append(_window_reason(window, occurrence))
        else:
            (allow_hard if window.is_hard else allow_soft).append(window)
            allow_active = allow_active or occurrence is not None
    if not allow_active:
        if allow_hard:
            reasons.append(_outside_reason(allow_hard, at))
        elif allow_soft:
            warnings.append(_outside_reason(allow_soft, at))
    return reasons, warnings


def next_allowed_at(windows, at):
    """The first instant at or after `at` when no hard window blocks, or None if not within five weeks."""
    for horizon in SEARCH_HORIZONS:
        found = _next_allowed_within(windows, at, at + horizon)
        if found is not None:
            return found
    return None


def _next_allowed_within(windows, at, limit):
    hard = [w for w in windows if w.is_hard]
    denies = [w for w in hard if w.kind == ReleaseWindow.Kind.DENY]
    allows = [w for w in hard if w.kind == ReleaseWindow.Kind.ALLOW]
    deny_occurrences = [o for w in denies for o in window_math.cached_occurrences(w, at, limit)]
    allow_occurrences = sorted(o for w in allows for o in window_math.cached_occurrences(w, at, limit))
    t = at
    for _step in range(10_000):
        if t >= limit:
            return None
        covering = [o.end for o in deny_occurrences if o.contains(t)]
        if covering:
            t = max(covering)
            continue
        if allows and not any(o.contains(t) for o in allow_occurrences):
            later = [o.start for o in allow_occurrences if o.start > t]
            if not later:
                return None
            t = min(later)
            continue
        return t
    return None


# Windows as last loaded by this process: id → (version, window).
_loaded_windows = {}


def load_windows(service, environment=""):
    """The enabled windows of a service: one small query, full rows only for windows changed since last time."""
    current = gate_queries.window_versions(service.pk)
    stale = [pk for pk, version in current if _loaded_windows.get(pk, (None,))[0] != version]
    if stale:
        reloaded = {w.pk: w for w in ReleaseWindow.objects.filter(pk__in=stale)}
        for pk, version in current:
            if pk in reloaded:
                _loaded_windows[pk] = (version, reloaded[pk])
    windows = [_loaded_windows[pk][1] for pk, _version in current if pk in _loaded_windows]
    return [w for w in windows if w.applies_to_environment(environment)]


def load_incidents(service):
    """Open incidents of a freezing severity on the service (a cheap look first)."""
    ids = gate_queries.open_incident_ids(service.pk, freeze_severities())
    if not ids:
        return []
    return list(Incident.objects.filter(pk__in=ids).order_by("number"))


def load_exceptions(service, at):
    """Approved exceptions current at `at` for the service, latest ending first (a cheap look first)."""
    ids = gate_queries.current_exception_ids(service.pk, at)
    if not ids:
        return []
    return list(
        FreezeException.objects.filter(pk__in=ids)
        .select_related("requested_by", "approved_by", "incident")
        .order_by("-ends_at", "-pk")
    )


def evaluate(*, service, at, windows, incidents=(), exceptions=(), fixes_incident=None):
    """The decision from already loaded windows, open major incidents and current exceptions."""
    reasons, warnings = _blocked_by_windows(windows, at)
    for incident in incidents:
        if fixes_incident is not None and incident.pk == fixes_incident.pk:
            continue
        reasons.append(_incident_reason(incident))
    decision = Decision(
        service=service, at=at, allowed=not reasons, reasons=reasons, warnings=warnings, fixes_incident=fixes_incident
    )
    _apply_exceptions(decision, exceptions)
    if not decision.allowed and not any(r.kind == "incident" for r in reasons):
        decision.next_allowed_at = next_allowed_at(windows, at)
    return decision


def _apply_exceptions(decision, exceptions):
    if decision.reasons and exceptions:
        decision.exception = exceptions[0]
        decision.allowed = True
        decision.next_allowed_at = None


def decide(*, service, at=None, environment="", fixes_incident=None):
    """Ask the gate about one service at one instant (now by default).

    Three queries when allowed, a fourth for the exceptions when blocked.
    """
    at = at or timezone.now()
    decision = evaluate(
        service=service,
        at=at,
        windows=load_windows(service, environment),
        incidents=load_incidents(service),
        fixes_incident=fixes_incident,
    )
    if decision.reasons:
        _apply_exceptions(decision, load_exceptions(service, at))
    return decision


def week_grid(*, service, start, tz, environment="", step=timedelta(hours=1)):
    """Seven days of slots from local midnight `start` (a date): (instant, state, reasons) per slot."""
    windows = load_windows(service, environment)
    days = []
    for offset in range(7):
        day = start + timedelta(days=offset)
        midnight = clock.localize(datetime.combine(day, datetime.min.time()), tz)
        next_midnight = clock.localize(datetime.combine(day + timedelta(days=1), datetime.min.time()), tz)
        slots = []
        t = midnight
        while t < next_midnight:
            reasons, warnings = _blocked_by_windows(windows, t)
            state = "blocked" if reasons else "warned" if warnings else "allowed"
            slots.append((t, state, [r.name for r in reasons + warnings]))
            t += step
        days.append((day, slots))
    return days
