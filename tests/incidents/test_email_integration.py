"""E-mail integrations: a mail server pipes each message to `manage.py ingest_email KEY`."""

import base64
import io
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from incidents.models import Alert, Incident, Integration, Severity, Status
from tests.conftest import subprocess_env
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

FIRST = b"""\
From: Backup robot <backup@db-1.example.com>
To: piquet@example.com
Subject: Backup of db-1 failed [SEV2]
Date: Wed, 02 Dec 2026 03:00:00 +0100
Message-ID: <first-1@db-1.example.com>
Content-Type: text/plain; charset=utf-8

pg_dump exited with 1:
disk full on /var/backups
"""

REPLY = b"""\
From: Backup robot <backup@db-1.example.com>
To: piquet@example.com
Subject: Re: Backup of db-1 failed [SEV2]
Message-ID: <second-2@db-1.example.com>
In-Reply-To: <first-1@db-1.example.com>
Content-Type: text/plain; charset=utf-8

Still failing.
"""


@pytest.fixture
def mailbox(service):
    return IntegrationFactory(service=service, name="Backup mail", kind=Integration.Kind.EMAIL)


def ingest(key, raw):
    call_command("ingest_email", key, stdin=io.BytesIO(raw))


def refused(key, raw):
    with pytest.raises(CommandError) as caught:
        ingest(key, raw)
    return caught.value


def test_a_message_opens_an_incident_with_the_subject_as_title_the_body_as_details_and_from_as_source(mailbox):
    ingest(mailbox.key, FIRST)
    incident = Incident.objects.get(service=mailbox.service)
    assert incident.title == "Backup of db-1 failed [SEV2]"
    assert incident.severity == Severity.SEV2
    assert incident.dedup_key == "email:<first-1@db-1.example.com>"
    assert incident.description == "pg_dump exited with 1:\ndisk full on /var/backups\n"
    alert = Alert.objects.get(incident=incident)
    assert alert.source == "Backup robot <backup@db-1.example.com>"
    assert alert.payload["custom_details"] == {"body": "pg_dump exited with 1:\ndisk full on /var/backups\n"}
    assert alert.payload["message_id"] == "<first-1@db-1.example.com>"


def test_a_message_without_a_severity_tag_is_the_default_sev3(mailbox):
    ingest(mailbox.key, FIRST.replace(b" [SEV2]", b""))
    assert Incident.objects.get().severity == Severity.SEV3


def test_a_reply_joins_the_open_incident_of_the_first_message(mailbox):
    ingest(mailbox.key, FIRST)
    ingest(mailbox.key, REPLY)
    incident = Incident.objects.get()
    assert incident.alert_count == 2
    assert incident.title == "Backup of db-1 failed [SEV2]"
    assert Alert.objects.filter(incident=incident).count() == 2


def test_a_reply_deep_in_the_thread_joins_by_its_first_reference(mailbox):
    ingest(mailbox.key, FIRST)
    deep = REPLY.replace(b"In-Reply-To: <first-1@db-1.example.com>", b"In-Reply-To: <second-2@db-1.example.com>")
    deep = deep.replace(b"Message-ID:", b"References: <first-1@db-1.example.com> <second-2@db-1.example.com>\nX-Id:")
    ingest(mailbox.key, deep)
    assert Incident.objects.get().alert_count == 2


def test_a_resolved_subject_resolves_the_thread_and_opens_nothing(mailbox):
    ingest(mailbox.key, FIRST)
    ingest(mailbox.key, REPLY.replace(b"Subject: Re: Backup", b"Subject: Re: [RESOLVED] Backup"))
    assert Incident.objects.get().status == Status.RESOLVED
    ingest(mailbox.key, REPLY.replace(b"Subject: Re: Backup", b"Subject: RESOLVED Backup"))
    assert Incident.objects.count() == 1


def test_an_html_only_multipart_message_gives_its_text(mailbox):
    message = EmailMessage()
    message["From"] = "grafana@example.com"
    message["Subject"] = "Latency high"
    message["Message-ID"] = "<html-1@example.com>"
    message.set_content(
        "<html><head><style>p {color: red}</style></head><body><p>Latency is <b>2.5 s</b> &amp; rising</p>"
        "<script>alert(1)</script><div>on web-1</div></body></html>",
        subtype="html",
    )
    message.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="graph.png")
    ingest(mailbox.key, message.as_bytes())
    incident = Incident.objects.get()
    assert incident.description == "Latency is 2.5 s & rising\non web-1"


def test_a_hostile_subject_becomes_one_clean_line(mailbox):
    encoded = base64.b64encode("Disk\r\nBcc: evil\x07 full\u2028now".encode()).decode()
    raw = f"From: x@example.com\nSubject: =?utf-8?b?{encoded}?=\n\tand\x1b[31m red\n\nbody\n".encode()
    ingest(mailbox.key, raw)
    assert Incident.objects.get().title == "Disk Bcc: evil full now and [31m red"


def test_an_unknown_key_or_another_kinds_key_is_ex_nouser(mailbox, integration):
    error = refused("0" * 32, FIRST)
    assert (error.returncode, str(error)) == (67, "There is no e-mail integration with this key.")
    assert refused(integration.key, FIRST).returncode == 67
    assert not Incident.objects.exists()


def test_a_disabled_integration_is_ex_noperm(mailbox):
    mailbox.enabled = False
    mailbox.save()
    assert refused(mailbox.key, FIRST).returncode == 77


@pytest.mark.parametrize("raw", [b"", b"\n\n  \n", b"this is not an e-mail at all\n", b"\x00\xff\xfe garbage"])
def test_empty_or_garbage_input_is_ex_dataerr_and_writes_nothing(mailbox, raw):
    error = refused(mailbox.key, raw)
    assert error.returncode == 65
    assert str(error).endswith(".") and "\n" not in str(error)
    assert not Incident.objects.exists() and not Alert.objects.exists()


def test_a_message_over_the_size_limit_is_ex_dataerr(mailbox, settings):
    settings.PIQUET_MAX_EVENT_BYTES = 2048
    ingest(mailbox.key, FIRST.replace(b"disk full", b"x" * (2048 - len(FIRST))))  # at the limit: accepted
    Incident.objects.all().delete()
    error = refused(mailbox.key, FIRST + b"x" * 2048)
    assert (error.returncode, str(error)) == (65, "The message is larger than 2 KB.")
    assert not Incident.objects.exists()


def run(key, raw, **env):
    return subprocess.run(
        [sys.executable, "manage.py", "ingest_email", key],
        input=raw,
        cwd=ROOT,
        env=subprocess_env(**env),
        capture_output=True,
        timeout=60,
    )


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_as_a_mail_server_expects(service, tmp_path):
    mailbox = IntegrationFactory(service=service, name="Backup mail", kind=Integration.Kind.EMAIL)
    accepted = run(mailbox.key, FIRST)
    assert accepted.returncode == 0, accepted.stderr
    assert Incident.objects.get().title == "Backup of db-1 failed [SEV2]"

    unknown = run("0" * 32, FIRST)
    assert unknown.returncode == 67
    assert b"There is no e-mail integration with this key." in unknown.stderr

    garbage = run(mailbox.key, b"")
    assert garbage.returncode == 65
    assert b"The message is empty." in garbage.stderr

    down = run(mailbox.key, FIRST, DATABASE_URL=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3")
    assert down.returncode == 75, down.stderr
    assert b"try again later" in down.stderr
    assert Incident.objects.count() == 1


def test_the_admin_shows_the_alias_line_to_paste(admin_client, mailbox):
    page = admin_client.get(f"/admin/incidents/integration/{mailbox.pk}/change/").content.decode()
    assert f"manage.py ingest_email {mailbox.key}" in page
    assert mailbox.url == ""
