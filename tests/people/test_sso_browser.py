"""A person signs in to the admin with single sign-on in a real browser, through a real OpenID Connect provider."""

import pytest
from django.contrib.auth import get_user_model

from people.models import Team, TeamMembership
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

User = get_user_model()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def sign_in_with_sso(page, live_url, provider, username):
    page.goto(live_url + "/admin/login/")
    page.get_by_role("link", name="Sign in with SSO").click()
    page.wait_for_url(provider.url + "/accounts/login/**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "provider-password-42")
    page.get_by_role("button", name="Sign in at the provider").click()
    page.wait_for_url(live_url + "/admin/")


def test_sso_login_gives_the_mapped_role_and_team_and_follows_group_changes_at_the_next_login(page, live_url, sso):
    sre = Team.objects.create(name="SRE", slug="sre")
    sso.allow(live_url)
    sso.person("nina", groups=["sre"], email="nina@example.com", first_name="Nina", last_name="Ops")

    sign_in_with_sso(page, live_url, sso, "nina")

    assert "nina" in page.locator("#user-tools").inner_text().lower()
    nina = User.objects.get(username="nina")
    assert set(nina.groups.values_list("name", flat=True)) == {"Responders"}
    assert TeamMembership.objects.get(user=nina, team=sre).role == TeamMembership.Role.MEMBER

    # Log out: Piquet's session ends, and the provider's (its end-session endpoint sends the browser back).
    page.locator("#logout-form button").click()
    page.wait_for_url(live_url + "/admin/login/")
    page.goto(live_url + "/admin/")
    assert page.url.startswith(live_url + "/admin/login/")

    sso.person("nina", groups=["oncall-admins", "sre-leads"], email="nina@example.com")
    sign_in_with_sso(page, live_url, sso, "nina")

    assert set(nina.groups.values_list("name", flat=True)) == {"Managers"}
    assert TeamMembership.objects.get(user=nina, team=sre).role == TeamMembership.Role.MANAGER


def test_with_passwords_off_only_a_break_glass_superuser_signs_in_with_a_password(page, live_url, sso, settings):
    settings.PIQUET_PASSWORD_LOGIN = False
    settings.PIQUET_BREAK_GLASS_USERS = ["root"]
    UserFactory(username="ada", roles=["Managers"])
    User.objects.create_superuser("root", "root@example.com", "break-glass-password-42")

    page.goto(live_url + "/admin/login/")
    assert page.get_by_role("link", name="Sign in with SSO").is_visible()
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", "secret-pass-123")
    page.click("input[type=submit]")
    assert "Password sign-in is turned off here: sign in with SSO." in page.locator(".errornote").inner_text()
    page.goto(live_url + "/admin/")
    assert page.url.startswith(live_url + "/admin/login/")

    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "break-glass-password-42")
    page.click("input[type=submit]")
    page.wait_for_url(live_url + "/admin/")
