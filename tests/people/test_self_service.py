"""Everyone keeps their own contact methods, rules and profile, in the admin and the API; Managers anyone's."""

import pytest
from django.core import mail
from django.test import Client

from people.models import ContactMethod, NotificationRule, Profile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_responder_adds_changes_and_deletes_their_own_contact_methods_in_the_admin(responder, teammate):
    client = logged_in(responder)
    form = client.get("/admin/people/contactmethod/add/").content.decode()
    assert 'name="user"' not in form  # the row is theirs
    response = client.post(
        "/admin/people/contactmethod/add/",
        {"user": teammate.pk, "kind": "email", "address": "rita@example.com", "label": "work", "enabled": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    method = ContactMethod.objects.get(address="rita@example.com")
    assert method.user == responder  # not the teammate the form named
    other = ContactMethod.objects.create(user=teammate, kind="email", address="theo@example.com")
    assert client.get(f"/admin/people/contactmethod/{other.pk}/change/").status_code in (302, 403, 404)
    listing = client.get("/admin/people/contactmethod/").content.decode()
    assert "rita" in listing and "theo@example.com" not in listing and "t…@example.com" not in listing

    rule = client.post(
        "/admin/people/notificationrule/add/",
        {"user": teammate.pk, "contact_method": other.pk, "delay_minutes": 0, "urgency": "any"},
    )
    assert rule.status_code == 200 and not NotificationRule.objects.exists()  # not their method: a form error
    rule = client.post(
        "/admin/people/notificationrule/add/", {"contact_method": method.pk, "delay_minutes": 0, "urgency": "any"}
    )
    assert rule.status_code == 302
    assert NotificationRule.objects.get().user == responder

    mail.outbox.clear()
    sent = client.post(
        "/admin/people/contactmethod/", {"action": "send_test", "_selected_action": [method.pk, other.pk]}
    )
    assert sent.status_code == 302
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]  # only their own row was selectable

    assert client.post(f"/admin/people/contactmethod/{method.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not ContactMethod.objects.filter(pk=method.pk).exists()
    assert ContactMethod.objects.filter(pk=other.pk).exists()


def test_my_profile_is_one_click_away_and_keeps_a_valid_time_zone(responder):
    client = logged_in(responder)
    response = client.get("/admin/people/profile/")
    profile = Profile.objects.get(user=responder)
    assert response.status_code == 302 and response["Location"].endswith(f"/admin/people/profile/{profile.pk}/change/")
    url = f"/admin/people/profile/{profile.pk}/change/"
    bad = client.post(url, {"language": "de", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 200 and "Mars/Olympus" in bad.content.decode()
    good = client.post(url, {"language": "de", "time_zone": "America/New_York", "notify_on_resolve": "on"})
    assert good.status_code == 302
    profile.refresh_from_db()
    assert (profile.language, profile.time_zone, profile.notify_on_acknowledge) == ("de", "America/New_York", False)
    someone = UserFactory()
    theirs = Profile.objects.create(user=someone)
    assert client.get(f"/admin/people/profile/{theirs.pk}/change/").status_code in (302, 403, 404)


def test_the_api_keeps_a_profile_for_its_owner_and_managers(api_for, responder, teammate, manager):
    url = f"/api/v1/users/{responder.pk}/profile/"
    mine = api_for(responder).patch(url, {"language": "it", "time_zone": "Europe/Zurich"}, format="json")
    assert mine.status_code == 200 and mine.json()["time_zone"] == "Europe/Zurich"
    assert Profile.objects.get(user=responder).language == "it"
    assert api_for(teammate).patch(url, {"language": "fr"}, format="json").status_code == 403
    assert api_for(manager).patch(url, {"language": "fr"}, format="json").status_code == 200
    bad = api_for(responder).patch(url, {"time_zone": "Nowhere/Land"}, format="json")
    assert bad.status_code == 400 and "time_zone" in bad.json()
    assert api_for(responder).get(url).json()["language"] == "fr"


def test_an_id_beyond_the_database_is_a_404_not_a_server_error(api_for, manager):
    huge = 107113135371580956049670144
    for path in ("notification-rules/", "contact-methods/", "profile/"):
        assert api_for(manager).get(f"/api/v1/users/{huge}/{path}").status_code == 404
    method = ContactMethod.objects.create(user=manager, kind="email", address="mona@example.com")
    response = api_for(manager).post(
        f"/api/v1/users/{huge}/notification-rules/", {"delay_minutes": 100, "contact_method": method.pk}
    )
    assert response.status_code in (400, 404)
