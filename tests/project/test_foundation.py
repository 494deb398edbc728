import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError
from django.test import Client

from project.roles import MANAGERS, RESPONDERS, STAKEHOLDERS
from tests.conftest import require_postgres

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_ok_when_database_answers(client):
    from django.utils import timezone

    from project.models import Heartbeat

    Heartbeat.objects.create(name="worker", at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_answers_503_when_database_is_down(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_role_groups_exist_with_their_permissions():
    managers = Group.objects.get(name=MANAGERS)
    responders = Group.objects.get(name=RESPONDERS)
    stakeholders = Group.objects.get(name=STAKEHOLDERS)
    manager_perms = set(managers.permissions.values_list("codename", flat=True))
    responder_perms = set(responders.permissions.values_list("codename", flat=True))
    stakeholder_perms = set(stakeholders.permissions.values_list("codename", flat=True))
    assert {"add_service", "change_service", "change_integration", "delete_integration"} <= manager_perms
    assert {"change_incident", "add_timelineentry", "view_service"} <= responder_perms
    assert "change_service" not in responder_perms
    assert stakeholder_perms and all(p.startswith("view_") for p in stakeholder_perms)


def test_admin_site_is_titled_piquet(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert "<title>Incident response and on-call | Piquet</title>" in response.content.decode()


def test_admin_speaks_french(admin_user):
    client = Client(headers={"accept-language": "fr"})
    client.force_login(admin_user)
    response = client.get("/admin/incidents/incident/")
    assert "Incidents" in response.content.decode()
    assert "Sélectionnez" in response.content.decode() or "Ajouter" in response.content.decode()


def test_openapi_schema_is_valid():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "project.settings_test", "PATH": "/usr/bin:/bin"},
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_schema_and_docs_are_served_without_outside_assets(client):
    assert client.get("/api/schema/").status_code == 200
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn.jsdelivr.net" not in page


def test_settings_refuse_to_start_without_secret_key_unless_debug(tmp_path):
    code = "import project.settings"
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "0", "SECRET_KEY": ""}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    env["DEBUG"] = "1"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_postgresql_connections_prepare_their_statements_unless_told_not_to():
    code = "from project.settings import DATABASES; print(DATABASES['default'].get('OPTIONS', {}))"
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "1", "DATABASE_URL": "postgres://piquet@db.example:5432/piquet"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "{'server_side_binding': True, 'prepare_threshold': 5}", result.stderr
    env["PIQUET_DB_PREPARED_STATEMENTS"] = "0"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "{}", result.stderr


def test_postgresql_connections_in_use_prepare_their_statements(db):
    from django.db import connection

    require_postgres()
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT 1 + %s", [1])
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["SELECT 1 + $1%"])
        assert cursor.fetchone()[0] == 1


def test_load_demo_runs_once_and_prints_a_working_curl(db, capsys):
    from django.core.management import call_command

    from incidents.models import Integration, Service

    call_command("load_demo")
    call_command("load_demo")
    assert Service.objects.filter(slug="website").count() == 1
    kinds = set(Integration.objects.filter(service__slug="website").values_list("kind", flat=True))
    assert kinds == {"events_v2", "alertmanager"}
    website = Service.objects.get(slug="website")
    assert website.escalation_policy.steps.count() == 2
    # The Platform team owns the website, its chain and its rotation, with the rotation's people as members.
    assert website.team.slug == "platform" and website.escalation_policy.team == website.team
    members = set(website.team.memberships.values_list("user__username", "role"))
    assert ("admin", "manager") in members and len(members) > 1
    assert website.support_hours and website.time_zone == "Europe/Zurich"
    # A written process for the website's SEV1s: the play fits them, not a SEV3.
    from incidents.models import Incident, Play

    play = Play.objects.get(name="Major outage")
    assert play.team == website.team and play.tasks.filter(required=True).count() == 3
    assert play in Play.objects.for_incident(Incident(service=website, severity="SEV1"))
    assert play not in Play.objects.for_incident(Incident(service=website, severity="SEV3"))
    out = capsys.readouterr().out
    assert "Demo data already loaded." in out
    call_command("welcome")
    out = capsys.readouterr().out
    assert "admin / piquet-demo" in out
    assert "curl -sS -X POST" in out


def test_roles_survive_a_flush_of_the_database(transactional_db):
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    responders = Group.objects.get(name=RESPONDERS)
    assert responders.permissions.filter(codename="change_incident").exists()
