"""Demo data for incidents: the "Website" service and its two integrations."""

from incidents.models import Integration, Service


def load(*, stdout, admin):
    website, _ = Service.objects.get_or_create(
        slug="website",
        defaults={"name": "Website", "description": "The public website and its API."},
    )
    for kind, name in ((Integration.Kind.EVENTS_V2, "Events API"), (Integration.Kind.ALERTMANAGER, "Alertmanager")):
        Integration.objects.get_or_create(service=website, kind=kind, defaults={"name": name})
