"""Print where Piquet runs, the demo login and a curl that triggers a test incident."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from incidents.models import Integration
from worker.management.commands.load_demo import DEMO_PASSWORD, DEMO_USERNAME


class Command(BaseCommand):
    help = "Print the URL, the demo login and a ready-to-paste curl command."

    def handle(self, *args, **options):
        base = settings.PIQUET_BASE_URL
        integration = (
            Integration.objects.filter(service__slug="website", kind=Integration.Kind.EVENTS_V2, enabled=True)
            .select_related("service")
            .first()
        )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Piquet is starting at {base}/admin/"))
        self.stdout.write(f"  login: {DEMO_USERNAME} / {DEMO_PASSWORD}")
        self.stdout.write(f"  API docs: {base}/api/docs/")
        if integration:
            self.stdout.write("  Trigger a test incident:")
            event = {
                "routing_key": integration.key,
                "event_action": "trigger",
                "payload": {"summary": "Website is down", "source": "curl", "severity": "critical"},
            }
            self.stdout.write(
                f"  curl -sS -X POST {integration.events_url} -H 'Content-Type: application/json' "
                f"-d '{json.dumps(event)}'"
            )
        self.stdout.write("")
