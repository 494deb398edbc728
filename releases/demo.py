"""Demo data for releases: the two windows every team starts with, in Europe/Zurich."""

from releases.models import ReleaseWindow

DEMO_WINDOWS = (
    {
        "name": "Weekend freeze",
        "start_cron": "0 12 * * 5",
        "end_cron": "0 8 * * 1",
        "message": "No new code in production from Friday lunch to Monday morning.",
    },
    {
        "name": "Evening freeze",
        "start_cron": "0 16 * * 1-4",
        "end_cron": "0 8 * * 2-5",
        "message": "No new code in production late in the afternoon: deploy before 16:00.",
    },
)


def load(*, stdout, admin):
    for spec in DEMO_WINDOWS:
        window, created = ReleaseWindow.objects.get_or_create(
            name=spec["name"],
            defaults={
                **spec,
                "kind": ReleaseWindow.Kind.DENY,
                "enforcement": ReleaseWindow.Enforcement.HARD,
                "time_zone": "Europe/Zurich",
            },
        )
        if created:
            stdout.write(f"Release window: {window.name} ({window.start_cron} → {window.end_cron}, Europe/Zurich)")
