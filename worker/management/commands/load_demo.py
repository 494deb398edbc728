"""Load the demo data once: an admin login and a small, realistic setup."""

import importlib

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from project.roles import MANAGERS, RESPONDERS

DEMO_APPS = ("rotations", "incidents", "comms", "releases")
DEMO_USERNAME = "admin"
DEMO_PASSWORD = "piquet-demo"  # noqa: S105 (printed on purpose: it is the demo login)


class Command(BaseCommand):
    help = "Create the demo login and demo data (services, integrations, …) unless already loaded."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Load again even if the demo login exists.")

    def handle(self, *args, force=False, **options):
        from django.contrib.auth.models import Group

        User = get_user_model()
        if User.objects.filter(username=DEMO_USERNAME).exists() and not force:
            self.stdout.write("Demo data already loaded.")
            return
        admin, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com", "first_name": "Ada"},
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
            admin.groups.add(*Group.objects.filter(name__in=[MANAGERS, RESPONDERS]))
        for app in DEMO_APPS:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            module.load(stdout=self.stdout, admin=admin)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
