"""Read one e-mail message on standard input and turn it into an alert of an e-mail integration.

For a mail server's pipe transport or alias (see docs/integrations.md). The exit status follows sysexits.h,
which mail servers understand: 0 accepted, 67 (EX_NOUSER) no such e-mail integration, 77 (EX_NOPERM) the
integration is disabled, 65 (EX_DATAERR) the message is empty, unreadable or too large (the mail server
bounces it), 75 (EX_TEMPFAIL) the database cannot be reached (the mail server tries again later).
"""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, InterfaceError, OperationalError

from incidents.email_ingest import BadMessage, process_email
from incidents.models import Integration

EX_DATAERR, EX_NOUSER, EX_TEMPFAIL, EX_NOPERM = 65, 67, 75, 77


class Command(BaseCommand):
    help = "Read one RFC 822 message on standard input and turn it into an alert of the e-mail integration KEY."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("key", help="The e-mail integration's key.")

    def handle(self, *args, key, **options):
        stream = options.get("stdin") or sys.stdin.buffer
        raw = stream.read(settings.PIQUET_MAX_EVENT_BYTES + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            integration = Integration.objects.select_related("service").filter(key=key).first()
            if integration is None or integration.kind != Integration.Kind.EMAIL:
                raise CommandError("There is no e-mail integration with this key.", returncode=EX_NOUSER)
            if not integration.enabled:
                raise CommandError("This e-mail integration is disabled.", returncode=EX_NOPERM)
            outcome = process_email(integration, raw)
        except BadMessage as exc:
            raise CommandError(str(exc), returncode=EX_DATAERR) from None
        except (OperationalError, InterfaceError) as exc:
            raise CommandError(
                f"The database cannot be reached ({exc.__class__.__name__}); try again later.", returncode=EX_TEMPFAIL
            ) from None
        except DatabaseError as exc:
            raise CommandError(
                f"The message could not be stored ({exc.__class__.__name__}); try again later.", returncode=EX_TEMPFAIL
            ) from None
        if options["verbosity"] > 1:
            number = outcome.incident.number if outcome.incident else None
            self.stdout.write(f"Accepted: incident {number}, deduplication key {outcome.dedup_key}")
