"""A real OpenID Connect provider for the SSO tests (tests/oidc_provider), and signing in through it."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "piquet"
CLIENT_SECRET = "piquet-client-secret-for-tests-only-0123456789"
GROUP_MAP = "sre=team:sre,sre=role:Responders,oncall-admins=role:Managers,sre-leads=team-manager:sre"


class Provider:
    """django-oauth-toolkit in OIDC mode under gunicorn on a free 127.0.0.1 port, with its own SQLite file."""

    def __init__(self, root, port):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_file = root / "provider-key.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
            "OIDC_PROVIDER_DB": str(root / "provider.sqlite3"),
            "OIDC_PROVIDER_KEY_FILE": str(key_file),
        }
        self.url = f"http://127.0.0.1:{port}"
        self.issuer = self.url + "/o"
        self.redirect_uris = set()
        self.setup(migrate=True)
        self.log = open(root / "provider.log", "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
             "tests.oidc_provider.wsgi:application"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the test OIDC provider did not start: see {root / 'provider.log'}")
            time.sleep(0.2)

    def setup(self, **spec):
        subprocess.run(
            [sys.executable, "-m", "tests.oidc_provider.cli", json.dumps(spec)], cwd=ROOT, env=self.env, check=True
        )

    def person(self, username, *, groups, password="provider-password-42", **fields):
        self.setup(users=[{"username": username, "password": password, "groups": groups, **fields}])

    def allow(self, base_url):
        """Register Piquet at `base_url` as the client (its callback and where logout comes back to)."""
        if base_url in self.redirect_uris:
            return
        self.redirect_uris.add(base_url)
        uris = sorted(self.redirect_uris)
        self.setup(
            clients=[
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uri": " ".join(f"{uri}/oidc/callback/" for uri in uris),
                    "post_logout_redirect_uri": " ".join(f"{uri}/admin/login/" for uri in uris),
                }
            ]
        )

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = Provider(tmp_path_factory.mktemp("oidc-provider"), port)
    yield provider
    provider.stop()


@pytest.fixture
def sso(settings, oidc_provider):
    """Piquet configured for the test provider, as the PIQUET_OIDC_* variables would."""
    from project import sso as project_sso

    settings.PIQUET_OIDC_ISSUER = oidc_provider.issuer
    settings.PIQUET_OIDC_CLIENT_ID = CLIENT_ID
    settings.PIQUET_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.PIQUET_OIDC_GROUP_MAP = project_sso.parse_group_map(GROUP_MAP)
    project_sso.forget_discovery()
    yield oidc_provider
    project_sso.forget_discovery()


def sign_in(client, provider, username, password="provider-password-42"):
    """Go through the whole authorization-code flow with Django's test client on Piquet's side and a real
    HTTP session at the provider; the answer of Piquet's callback."""
    provider.allow("http://testserver")
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302, start
    authorize = start["Location"]
    assert authorize.startswith(provider.issuer + "/authorize/")
    browser = requests.Session()
    login_page = browser.get(provider.url + "/accounts/login/", timeout=10)
    assert login_page.ok
    logged_in = browser.post(
        provider.url + "/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": browser.cookies["provider_csrftoken"],
            "next": "/o/",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert logged_in.status_code == 302, logged_in.text
    answer = browser.get(authorize, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    assert callback.path == "/oidc/callback/", answer.headers["Location"]
    return client.get(f"{callback.path}?{callback.query}")
