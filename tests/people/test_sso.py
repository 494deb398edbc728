"""Single sign-on with OpenID Connect, through a real provider (tests/oidc_provider) and Piquet's callback."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from people.models import Team, TeamMembership
from project import sso as project_sso
from project.sso import Grant, parse_group_map
from tests.factories import UserFactory
from tests.people.conftest import sign_in

User = get_user_model()
ROOT = Path(__file__).resolve().parents[2]


def test_group_map_reads_roles_teams_and_team_managers():
    mapping = parse_group_map(" sre=team:sre , sre=role:Responders,oncall-admins=role:Managers,leads=team-manager:sre,")
    assert mapping == {
        "sre": [Grant("team", "sre"), Grant("role", "Responders")],
        "oncall-admins": [Grant("role", "Managers")],
        "leads": [Grant("team-manager", "sre")],
    }
    assert parse_group_map("") == {}


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("sre", "'sre' is not of the form group=role:Name"),
        ("sre=team", "'sre=team' is not of the form"),
        ("=role:Managers", "is not of the form"),
        ("sre=role:", "is not of the form"),
        ("admins=role:Admins", "names the role 'Admins', which is not one of Managers, Responders, Stakeholders."),
        ("sre=squad:sre", "grants 'squad', which is none of role, team or team-manager."),
    ],
)
def test_malformed_group_map_is_refused_at_start_up_with_a_sentence(text, sentence):
    with pytest.raises(ImproperlyConfigured, match="PIQUET_OIDC_GROUP_MAP") as raised:
        parse_group_map(text)
    assert sentence in str(raised.value)


@pytest.fixture
def unreachable_sso(settings, free_tcp_port):
    settings.PIQUET_OIDC_ISSUER = f"http://127.0.0.1:{free_tcp_port}/o"
    settings.PIQUET_OIDC_CLIENT_ID = "piquet"
    settings.PIQUET_OIDC_CLIENT_SECRET = "secret-that-must-not-be-logged"
    project_sso.forget_discovery()
    yield
    project_sso.forget_discovery()


@pytest.mark.django_db
def test_provider_down_leaves_the_login_page_and_passwords_working(client, unreachable_sso, caplog):
    UserFactory(username="ada", password="the-right-password-42", roles=["Responders"])

    page = client.get("/admin/login/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Sign in with SSO" in text and 'aria-disabled="true"' in text
    assert "Single sign-on is unavailable right now" in text

    signed_in = client.post("/admin/login/", {"username": "ada", "password": "the-right-password-42"})
    assert signed_in.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert "Single sign-on is unavailable" in caplog.text
    assert "secret-that-must-not-be-logged" not in caplog.text


@pytest.mark.django_db
def test_sso_button_of_a_provider_that_is_down_returns_to_the_login_page_saying_so(client, unreachable_sso):
    answer = client.get("/oidc/authenticate/", follow=True)
    assert answer.redirect_chain[-1][0] == "/admin/login/"
    assert "the identity provider could not be reached" in answer.content.decode()


@pytest.mark.django_db
def test_login_page_without_sso_configured_has_no_sso_button(client):
    page = client.get("/admin/login/")
    assert page.status_code == 200
    assert "Sign in with SSO" not in page.content.decode()


@pytest.mark.django_db
def test_first_sso_login_creates_the_person_with_the_role_and_team_of_their_groups(client, sso):
    sre = Team.objects.create(name="SRE", slug="sre")
    sso.person("nina", groups=["sre"], email="nina@example.com", first_name="Nina", last_name="Ops")

    answer = sign_in(client, sso, "nina")

    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    nina = User.objects.get(username="nina")
    assert (nina.email, nina.first_name, nina.last_name) == ("nina@example.com", "Nina", "Ops")
    assert nina.is_staff and not nina.is_superuser and not nina.has_usable_password()
    assert set(nina.groups.values_list("name", flat=True)) == {"Responders"}
    assert TeamMembership.objects.get(user=nina, team=sre).role == TeamMembership.Role.MEMBER
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_roles_and_teams_follow_the_groups_at_every_login_leaving_what_the_map_does_not_manage(client, sso):
    sre = Team.objects.create(name="SRE", slug="sre")
    other = Team.objects.create(name="Billing", slug="billing")
    sso.person("omar", groups=["sre"])
    sign_in(client, sso, "omar")
    omar = User.objects.get(username="omar")
    TeamMembership.objects.create(user=omar, team=other)  # given by hand, not managed by the map

    sso.person("omar", groups=["oncall-admins", "sre-leads"])
    client.logout()
    answer = sign_in(client, sso, "omar")

    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    assert set(omar.groups.values_list("name", flat=True)) == {"Managers"}
    assert TeamMembership.objects.get(user=omar, team=sre).role == TeamMembership.Role.MANAGER
    assert TeamMembership.objects.filter(user=omar, team=other).exists()

    sso.person("omar", groups=["oncall-admins"])
    client.logout()
    sign_in(client, sso, "omar")
    assert not TeamMembership.objects.filter(user=omar, team=sre).exists()
    assert TeamMembership.objects.filter(user=omar, team=other).exists()


@pytest.mark.django_db
def test_person_whose_groups_map_to_no_role_is_not_let_in_and_told_why(client, sso):
    Team.objects.create(name="SRE", slug="sre")
    sso.person("pat", groups=["marketing"])

    answer = sign_in(client, sso, "pat")

    assert answer.status_code == 302 and answer["Location"] == "/admin/login/"
    page = client.get("/admin/login/")
    assert "Your account has no role in Piquet" in page.content.decode()
    assert not page.wsgi_request.user.is_authenticated
    assert not User.objects.get(username="pat").is_staff


@pytest.mark.django_db
def test_losing_every_mapped_group_takes_the_role_away_and_the_next_login_is_refused(client, sso):
    sso.person("quinn", groups=["sre"])
    sign_in(client, sso, "quinn")
    client.logout()
    sso.person("quinn", groups=[])

    answer = sign_in(client, sso, "quinn")

    quinn = User.objects.get(username="quinn")
    assert answer["Location"] == "/admin/login/"
    assert not quinn.groups.exists() and not quinn.is_staff


@pytest.mark.django_db
def test_a_callback_with_a_forged_state_signs_nobody_in(client, sso):
    client.get("/oidc/authenticate/")
    answer = client.get("/oidc/callback/?code=anything&state=forged")
    assert answer.status_code == 400
    assert not client.get("/admin/login/").wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_admin_logout_ends_the_session_and_goes_to_the_providers_end_session_endpoint(client, sso):
    sso.person("rosa", groups=["sre"])
    sign_in(client, sso, "rosa")

    answer = client.post("/admin/logout/")

    assert answer.status_code == 302
    assert answer["Location"].startswith(sso.issuer + "/logout/?id_token_hint=")
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_with_passwords_off_the_password_form_is_refused_with_a_clear_message(client, settings):
    settings.PIQUET_PASSWORD_LOGIN = False
    UserFactory(username="ada", password="the-right-password-42", roles=["Managers"])

    answer = client.post("/admin/login/", {"username": "ada", "password": "the-right-password-42"})

    assert answer.status_code == 200
    assert "Password sign-in is turned off here: sign in with SSO." in answer.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_with_passwords_off_a_break_glass_superuser_still_signs_in_with_a_password(client, settings):
    settings.PIQUET_PASSWORD_LOGIN = False
    settings.PIQUET_BREAK_GLASS_USERS = ["root", "ada"]
    User.objects.create_superuser("root", "root@example.com", "the-right-password-42")
    UserFactory(username="ada", password="the-right-password-42", roles=["Managers"])

    assert client.post("/admin/login/", {"username": "ada", "password": "the-right-password-42"}).status_code == 200
    assert "_auth_user_id" not in client.session
    answer = client.post("/admin/login/", {"username": "root", "password": "the-right-password-42"})
    assert answer.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_bad_group_map_stops_start_up_and_a_provider_that_is_down_does_not():
    def check(**env):
        base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "project.settings", "DEBUG": "1"}
        return subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
        )

    sso_env = {"PIQUET_OIDC_ISSUER": "http://127.0.0.1:9/o", "PIQUET_OIDC_CLIENT_ID": "piquet"}
    refused = check(**sso_env, PIQUET_OIDC_GROUP_MAP="oncall-admins=role:Admins")
    assert refused.returncode != 0
    assert "names the role 'Admins', which is not one of Managers, Responders, Stakeholders." in refused.stderr
    assert check(**sso_env, PIQUET_OIDC_GROUP_MAP="oncall-admins=role:Managers").returncode == 0


@pytest.fixture
def impostor():
    """A server whose discovery document names another issuer than the one Piquet is configured with."""
    import http.server
    import json
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(
                {key: "http://127.0.0.1:9/" + key for key in project_sso.REQUIRED_ENDPOINTS}
                | {"issuer": "https://login.example.com"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_discovery_document_of_another_issuer_is_not_trusted(impostor):
    project_sso.forget_discovery()
    with pytest.raises(project_sso.DiscoveryError) as raised:
        project_sso.discover(impostor)
    assert "names the issuer 'https://login.example.com'" in str(raised.value)
    project_sso.forget_discovery()
