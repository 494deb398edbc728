"""Demo data for incidents: the "Website" service, its two integrations and its call chain."""

from incidents.models import Integration, Service
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
