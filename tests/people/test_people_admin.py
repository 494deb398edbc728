"""Managers look after people, never after privileges: no superuser, no raw permissions, no passwords."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from project.roles import RESPONDERS

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def boss(db):
    return User.objects.create_superuser("boss", "boss@example.com", "a-long-secret-password-1")


def test_the_person_page_of_a_manager_shows_no_privileges_and_no_password(client, manager, responder):
    client.force_login(manager)
    page = client.get(f"/admin/auth/user/{responder.pk}/change/").content.decode()
    for hidden in ('name="is_superuser"', 'name="is_staff"', 'name="user_permissions"', "password/", 'name="groups"'):
        assert hidden not in page
    assert 'name="roles"' in page and 'name="email"' in page


def test_a_manager_cannot_make_themselves_superuser(client, manager):
    client.force_login(manager)
    response = client.post(
        f"/admin/auth/user/{manager.pk}/change/",
        {
            "username": manager.username,
            "email": manager.email,
            "is_active": "on",
            "is_superuser": "on",
            "is_staff": "on",
            "user_permissions": ["1", "2"],
            "roles": [],
            **empty_inlines(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    manager.refresh_from_db()
    assert not manager.is_superuser
    assert not manager.user_permissions.exists()
    assert not manager.is_staff  # no role left: no admin access


def test_a_manager_cannot_touch_a_superuser_or_anyones_password(client, manager, responder, boss):
    client.force_login(manager)
    assert (
        client.post(f"/admin/auth/user/{boss.pk}/change/", {"username": "boss", "email": "x@example.com"}).status_code
        == 403
    )
    assert client.get(f"/admin/auth/user/{boss.pk}/delete/").status_code == 403
    assert client.get(f"/admin/auth/user/{responder.pk}/password/").status_code == 403
    assert (
        client.post(
            f"/admin/auth/user/{responder.pk}/password/", {"password1": "x" * 20, "password2": "x" * 20}
        ).status_code
        == 403
    )
    boss.refresh_from_db()
    assert boss.email == "boss@example.com"


def test_a_manager_adds_a_person_with_a_role_and_sends_a_reset_link_they_set_a_password_with(client, manager):
    client.force_login(manager)
    from django.contrib.auth.models import Group

    responders = Group.objects.get(name=RESPONDERS)
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "nina",
            "first_name": "Nina",
            "email": "nina@example.com",
            "is_active": "on",
            "roles": [responders.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    nina = User.objects.get(username="nina")
    assert nina.is_staff and not nina.is_superuser and not nina.has_usable_password()
    assert list(nina.groups.values_list("name", flat=True)) == [RESPONDERS]

    response = client.post(
        "/admin/auth/user/", {"action": "send_password_reset", "_selected_action": [nina.pk]}, follow=True
    )
    assert "Sent 1 password-reset link." in response.content.decode()
    assert mail.outbox[-1].to == ["nina@example.com"]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[-1].body).group(1)

    client.logout()
    form = client.get(link, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "Cor-rect-horse-42", "new_password2": "Cor-rect-horse-42"}
    )
    assert done.status_code == 302
    signed_in = client.post("/admin/login/", {"username": "nina", "password": "Cor-rect-horse-42"})
    assert signed_in.status_code == 302


def test_a_superuser_still_sees_the_whole_user_page(client, boss, responder):
    client.force_login(boss)
    page = client.get(f"/admin/auth/user/{responder.pk}/change/").content.decode()
    assert 'name="is_superuser"' in page and 'name="user_permissions"' in page


def test_a_responder_cannot_send_test_notifications_to_others(client, responder, teammate):
    from people.models import ContactMethod

    method = ContactMethod.objects.create(user=teammate, kind="email", address="theo@example.com")
    client.force_login(responder)
    response = client.post("/admin/people/contactmethod/", {"action": "send_test", "_selected_action": [method.pk]})
    assert response.status_code in (200, 302, 403)
    assert mail.outbox == []


def empty_inlines():
    """The management forms of the person page's inlines, with no rows."""
    forms = {}
    for prefix in ("piquet_profile", "contact_methods", "notification_rules"):
        forms.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return forms
