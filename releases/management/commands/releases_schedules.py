from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from releases.tasks import register_schedules


class Command(BaseCommand):
    help = _("Register (or update) the periodic background tasks of the releases app.")

    def handle(self, *args, **options):
        count = register_schedules()
        self.stdout.write(self.style.SUCCESS(_("%(count)s schedule(s) registered.") % {"count": count}))
