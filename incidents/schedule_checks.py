"""The daily look at every schedule's next 14 days: gaps, and people on call who cannot be reached.

The owners of a schedule are its team's managers; for a schedule of no team,
or of a team without managers, the Managers (the role). Each owner gets one
message per schedule and day (the key carries the date), in their language,
with times in the schedule's zone and in theirs. `manage.py check_schedules`
runs the same check at once and prints what it found.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import notices
from incidents.models import Notice
from incidents.shift_notices import schedule_url, when
from people.models import ContactMethod, Profile, TeamMembership, display_name
from project.clock import get_zone
from project.roles import MANAGERS
from rotations import handoffs, oncall
from rotations.final_schedule import final_segments
from rotations.models import Schedule

AHEAD = timedelta(days=14)
MAX_LISTED = 30  # gaps (or people) one message lists at most


@dataclass
class Finding:
    """What is wrong with one schedule in the window: its gaps (Runs) and the people who cannot be reached,
    each with the start of their first stretch on call."""

    schedule: object
    gaps: list = field(default_factory=list)
    unreachable: list = field(default_factory=list)  # (User, first start)
    first_start: dict = field(default_factory=dict)  # user id → the start of their first stretch

    def __bool__(self):
        return bool(self.gaps or self.unreachable)


def find_problems(now=None) -> list[Finding]:
    """The schedules with a gap or an unreachable person on call over [now, now + 14 days), by name."""
    now = now or timezone.now()
    end = now + AHEAD
    schedules = oncall.load_plans(
        Schedule.objects.only("id", "name", "time_zone", "team_id").order_by("name", "id"), start=now, end=end
    )
    findings = []
    for schedule in schedules:
        stretches = handoffs.runs(final_segments(oncall.plan_for(schedule), now, end))
        finding = Finding(schedule, gaps=[s for s in stretches if s.user is None])
        for stretch in stretches:
            if stretch.user is not None:
                finding.first_start.setdefault(stretch.user, stretch.start)
        findings.append(finding)
    on_call = {user_id for finding in findings for user_id in finding.first_start}
    reachable = set(
        ContactMethod.objects.filter(user_id__in=on_call, enabled=True).values_list("user_id", flat=True).distinct()
    )
    for finding in findings:
        users = oncall.plan_for(finding.schedule).users
        for user_id, start in finding.first_start.items():
            user = users.get(user_id) if user_id not in reachable else None
            if user is not None and not user.email:
                finding.unreachable.append((user, start))
    return [finding for finding in findings if finding]


def owners(findings) -> dict:
    """Schedule id → the people told about it: its team's managers, else the Managers."""
    teams = {f.schedule.team_id for f in findings if f.schedule.team_id}
    by_team: dict = {}
    for membership in TeamMembership.objects.filter(
        team_id__in=teams, role=TeamMembership.Role.MANAGER, user__is_active=True
    ).select_related("user"):
        by_team.setdefault(membership.team_id, []).append(membership.user)
    managers = []
    if any(not by_team.get(f.schedule.team_id) for f in findings):
        managers = list(
            get_user_model().objects.filter(Q(groups__name=MANAGERS), is_active=True).distinct().order_by("username")
        )
    return {f.schedule.pk: by_team.get(f.schedule.team_id) or managers for f in findings}


def check_schedules(now=None, *, tell=True) -> list[Finding]:
    """Find the problems of the next 14 days and (with `tell`) tell each schedule's owners, once a day."""
    now = now or timezone.now()
    findings = find_problems(now)
    if not tell or not findings:
        return findings
    told_to = owners(findings)
    zones = dict(
        Profile.objects.filter(user__in={u.pk for people in told_to.values() for u in people}).values_list(
            "user_id", "time_zone"
        )
    )
    day = now.date().isoformat()
    for finding in findings:
        for owner in told_to[finding.schedule.pk]:
            zone = get_zone(zones.get(owner.pk) or settings.TIME_ZONE)
            with notices.speaking_to(owner):
                subject, text = describe(finding, zone)
            notices.tell(
                owner,
                kind=Notice.Kind.SCHEDULE,
                subject=subject,
                text=text,
                short=subject,
                url=schedule_url(finding.schedule),
                key=f"schedule-check:{finding.schedule.pk}:{owner.pk}:{day}",
                now=now,
            )
    return findings


def describe(finding, reader_zone):
    """(subject, text) of a finding for a reader in `reader_zone`, in the active language."""
    schedule = finding.schedule
    zone = get_zone(schedule.time_zone)
    both = zone.key != reader_zone.key

    def at(instant):
        return f"{when(instant, zone)} ({when(instant, reader_zone)})" if both else when(instant, zone)

    def span(start, end):
        if both:
            return f"{when(start, zone)} → {when(end, zone)} ({when(start, reader_zone)} → {when(end, reader_zone)})"
        return f"{when(start, zone)} → {when(end, zone)}"

    subject = _("Schedule %(schedule)s: problems in the next %(days)s days") % {
        "schedule": schedule.name,
        "days": AHEAD.days,
    }
    lines = []
    if both:
        lines.append(
            _("Times are in the schedule's time zone, %(zone)s, and in yours, %(yours)s, in brackets.")
            % {"zone": zone.key, "yours": reader_zone.key}
        )
    else:
        lines.append(_("Times are in %(zone)s.") % {"zone": zone.key})
    if finding.gaps:
        lines += ["", _("Nobody is on call at these times:")]
        lines += [f"- {span(gap.start, gap.end)}" for gap in finding.gaps[:MAX_LISTED]]
    if finding.unreachable:
        lines += ["", _("On call but cannot be reached (no enabled contact method and no e-mail address):")]
        lines += [
            _("- %(person)s, first on call at %(start)s") % {"person": display_name(user), "start": at(start)}
            for user, start in finding.unreachable[:MAX_LISTED]
        ]
    return subject, "\n".join(lines)
