"""Look at every schedule's next 14 days now: print the gaps and the unreachable people, and tell the owners.

The same check runs every day in the background; its messages go once per owner, schedule and day, so
running this command as well tells nobody twice.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from incidents.schedule_checks import check_schedules, describe
from project.clock import get_zone


class Command(BaseCommand):
    help = "Check the next 14 days of every schedule for gaps and unreachable people on call; tell their owners."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what is found without telling the schedules' owners."
        )

    def handle(self, *args, dry_run=False, **options):
        findings = check_schedules(timezone.now(), tell=not dry_run)
        if not findings:
            self.stdout.write(self.style.SUCCESS("Every schedule is covered for the next 14 days."))
            return
        for finding in findings:
            _subject, text = describe(finding, get_zone(finding.schedule.time_zone))
            self.stdout.write(self.style.WARNING(f"{finding.schedule.name} (#{finding.schedule.pk})"))
            self.stdout.write(text)
            self.stdout.write("")
        if not dry_run:
            self.stdout.write(f"Told the owners of {len(findings)} schedule(s).")
