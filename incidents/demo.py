"""Demo data for incidents: the "Website" service, its two integrations and its call chain."""

from incidents.models import IncidentRole, Integration, Play, PlayTask, Service
from people.models import Team, TeamMembership
from rotations.models import EscalationPolicy, EscalationStep, Schedule


def load(*, stdout, admin):
    website, _ = Service.objects.get_or_create(
        slug="website",
        defaults={
            "name": "Website",
            "description": "The public website and its API.",
            "public_name": "Online shop",
            "public_description": "Browsing, checkout and your account.",
        },
    )
    for kind, name in ((Integration.Kind.EVENTS_V2, "Events API"), (Integration.Kind.ALERTMANAGER, "Alertmanager")):
        Integration.objects.get_or_create(service=website, kind=kind, defaults={"name": name})

    policy, created = EscalationPolicy.objects.get_or_create(
        name="Website on call",
        defaults={"description": "Whoever is on call for Platform, then the admin.", "repeat": 1},
    )
    if created:
        first = EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5)
        platform = Schedule.objects.filter(name="Platform").first()
        if platform:
            first.schedules.add(platform)
        else:
            first.users.add(admin)
        EscalationStep.objects.create(policy=policy, position=1, escalate_after_minutes=10).users.add(admin)
    if website.escalation_policy_id is None:
        website.escalation_policy = policy
        website.save(update_fields=["escalation_policy"])
    _platform_team(website, policy, admin, stdout)
    _major_outage_play(website, stdout)


MAJOR_OUTAGE_TASKS = (
    ("Open the bridge and say who leads", "commander", 5, True),
    ("Check the deployments of the last 24 hours", "commander", 10, True),
    ("Post a first public update", "communications", 15, True),
    ("Tell support what to answer customers", "communications", 30, False),
)


def _major_outage_play(website, stdout):
    """A written process for the worst incidents of the website: it runs by itself on every SEV1."""
    play, created = Play.objects.get_or_create(
        name="Major outage",
        defaults={
            "severities": ["SEV1"],
            "incident_types": [],
            "roles": [IncidentRole.Role.COMMANDER, IncidentRole.Role.COMMUNICATIONS],
            "bridge_url": "https://meet.example.com/major-outage",
            "team": website.team,
        },
    )
    if not created:
        return
    play.services.add(website)
    for position, (title, role, due, required) in enumerate(MAJOR_OUTAGE_TASKS, start=1):
        PlayTask.objects.create(
            play=play, position=position, title=title, role=role, due_minutes=due, required=required
        )
    stdout.write("Play: Major outage (runs on every SEV1 of Website: 4 tasks, a commander, a bridge)")


def _platform_team(website, policy, admin, stdout):
    """The Platform team owns the website, its call chain and its rotation; low urgency waits for office hours."""
    team, _ = Team.objects.get_or_create(slug="platform", defaults={"name": "Platform"})
    TeamMembership.objects.get_or_create(team=team, user=admin, defaults={"role": TeamMembership.Role.MANAGER})
    schedule = Schedule.objects.filter(name="Platform").first()
    if schedule is not None:
        schedule.team = team
        schedule.save(update_fields=["team"])
        for layer in schedule.layers.prefetch_related("participants__user"):
            for participant in layer.participants.all():
                TeamMembership.objects.get_or_create(team=team, user=participant.user)
    policy.team = team
    policy.save(update_fields=["team"])
    website.team = team
    if not website.support_hours:
        website.support_hours = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}]
        website.time_zone = "Europe/Zurich"
    website.save(update_fields=["team", "support_hours", "time_zone"])
    stdout.write(
        "Team: Platform (owns Website, its call chain and the Platform rotation); "
        "low-urgency Website incidents page Mon–Fri 08:00–18:00 Europe/Zurich"
    )
