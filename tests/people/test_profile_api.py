"""A person's profile through the API: time zone, language and heads-up lead time; theirs, or anyone's for Managers."""

import pytest
from django.test import Client

from people.models import DEFAULT_HEADS_UP_MINUTES, Profile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def url(user):
    return f"/api/v1/users/{user.pk}/profile/"


def test_a_person_reads_and_changes_their_own_profile(api_for, responder):
    api = api_for(responder)
    read = api.get(url(responder))
    assert read.status_code == 200
    assert read.json()["heads_up_minutes"] == DEFAULT_HEADS_UP_MINUTES
    changed = api.patch(
        url(responder), {"time_zone": "America/New_York", "language": "de", "heads_up_minutes": 30}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    profile = Profile.objects.get(user=responder)
    assert (profile.time_zone, profile.language, profile.heads_up_minutes) == ("America/New_York", "de", 30)


def test_null_means_no_heads_up(api_for, responder):
    response = api_for(responder).patch(url(responder), {"heads_up_minutes": None}, format="json")
    assert response.status_code == 200 and response.json()["heads_up_minutes"] is None
    assert Profile.objects.get(user=responder).heads_up_minutes is None


@pytest.mark.parametrize("who", ["teammate", "stakeholder", "outsider"])
def test_nobody_else_but_managers_reads_or_changes_someones_profile(request, api_for, responder, who):
    api = api_for(request.getfixturevalue(who))
    assert api.get(url(responder)).status_code in (403, 404)
    assert api.patch(url(responder), {"heads_up_minutes": 5}, format="json").status_code in (403, 404)
    assert Profile.objects.filter(user=responder, heads_up_minutes=5).count() == 0


def test_anonymous_is_refused(client, responder):
    assert client.get(url(responder)).status_code in (401, 403)


def test_a_manager_reads_and_changes_anyones_profile(api_for, manager, responder):
    api = api_for(manager)
    assert api.get(url(responder)).status_code == 200
    assert api.patch(url(responder), {"heads_up_minutes": 60}, format="json").status_code == 200
    assert Profile.objects.get(user=responder).heads_up_minutes == 60
    assert api.get("/api/v1/users/999999/profile/").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"heads_up_minutes": 0},
        {"heads_up_minutes": -5},
        {"heads_up_minutes": 7 * 24 * 60 + 1},
        {"heads_up_minutes": 10**30},
        {"heads_up_minutes": "soon"},
        {"heads_up_minutes": 1.5},
        {"heads_up_minutes": [1]},
        {"language": "xx"},
        {"language": None},
        {"time_zone": "Mars/Olympus"},
        {"time_zone": "x" * 200},
        {"time_zone": 42},
    ],
)
def test_bad_input_is_a_400_with_the_field_named(api_for, responder, body):
    response = api_for(responder).patch(url(responder), body, format="json")
    assert response.status_code == 400, response.content
    assert next(iter(body)) in response.json()
    profile = Profile.objects.filter(user=responder).first()
    assert profile is None or profile.heads_up_minutes == DEFAULT_HEADS_UP_MINUTES


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", '"text"', "{"])
def test_a_body_that_is_not_an_object_is_a_400(api_for, responder, raw):
    response = api_for(responder).patch(url(responder), raw, content_type="application/json")
    assert response.status_code == 400


def test_the_longest_heads_up_is_seven_days(api_for, responder):
    response = api_for(responder).patch(url(responder), {"heads_up_minutes": 10080}, format="json")
    assert response.status_code == 200


def test_my_preferences_page_shows_the_heads_up_with_its_help(responder):
    client = Client()
    client.force_login(responder)
    profile, _created = Profile.objects.get_or_create(user=responder)
    page = f"/admin/people/profile/{profile.pk}/change/"
    text = client.get(page).content.decode()
    assert 'name="heads_up_minutes"' in text and "720 = 12 hours" in text
    form = {"language": "en", "time_zone": "", "notify_on_acknowledge": "on", "notify_on_resolve": "on"}
    assert client.post(page, {**form, "heads_up_minutes": "0"}).status_code == 200  # a form error
    assert client.post(page, {**form, "heads_up_minutes": "20000"}).status_code == 200
    profile.refresh_from_db()
    assert profile.heads_up_minutes == DEFAULT_HEADS_UP_MINUTES
    assert client.post(page, {**form, "heads_up_minutes": "90"}).status_code == 302
    profile.refresh_from_db()
    assert profile.heads_up_minutes == 90
    assert client.post(page, {**form, "heads_up_minutes": ""}).status_code == 302
    profile.refresh_from_db()
    assert profile.heads_up_minutes is None


def test_a_manager_sets_someones_heads_up_on_their_person_page(manager):
    someone = UserFactory(username="zed")
    client = Client()
    client.force_login(manager)
    assert (
        'name="piquet_profile-0-heads_up_minutes"'
        in client.get(f"/admin/auth/user/{someone.pk}/change/").content.decode()
    )
