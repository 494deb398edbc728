"""A small, real OpenID Connect provider (django-oauth-toolkit) that the SSO tests start in a subprocess.

It is its own Django project (settings, urls, one SQLite file under the test's tmp_path) and never part of
Piquet's INSTALLED_APPS: Piquet only talks to it over HTTP, as it would to Keycloak or Okta.
"""
