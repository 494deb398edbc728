"""One way to show time: the viewer's zone, one format with the zone named, and relative ages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from people.middleware import ViewerTimeZoneMiddleware, viewer_zone
from people.models import Profile
from project.templatetags.piquet_time import format_age, format_instant
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("zone", "instant", "shown"),
    [
        ("Europe/Zurich", datetime(2026, 12, 2, 0, 59, tzinfo=UTC), "2026-12-02 01:59 CET"),
        ("Europe/Zurich", datetime(2026, 7, 1, 23, 59, tzinfo=UTC), "2026-07-02 01:59 CEST"),
        # The spring-forward night: 01:59 CET is followed by 03:00 CEST.
        ("Europe/Zurich", datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "2026-03-29 01:59 CET"),
        ("Europe/Zurich", datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "2026-03-29 03:00 CEST"),
        ("America/New_York", datetime(2026, 1, 15, 12, 0, tzinfo=UTC), "2026-01-15 07:00 EST"),
        ("America/New_York", datetime(2026, 7, 15, 12, 0, tzinfo=UTC), "2026-07-15 08:00 EDT"),
        # The fall-back night: 01:30 happens twice, first EDT then EST.
        ("America/New_York", datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "2026-11-01 01:30 EDT"),
        ("America/New_York", datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "2026-11-01 01:30 EST"),
    ],
)
def test_an_instant_is_shown_on_the_wall_clock_of_the_active_zone_with_its_name(zone, instant, shown):
    with timezone.override(zone):
        assert format_instant(instant) == shown
        assert Template("{% load piquet_time %}{{ at|piquet_time }}").render(Context({"at": instant})) == shown


def test_no_instant_shows_nothing():
    assert format_instant(None) == ""
    assert format_age(None) == ""


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=1), "1 min ago"),
        (timedelta(minutes=12, seconds=40), "12 min ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=5, minutes=59), "5 hours ago"),
        (timedelta(days=3), "3 days ago"),
        (-timedelta(minutes=5), "in 5 min"),
        (-timedelta(hours=2), "in 2 hours"),
    ],
)
def test_ages_read_like_a_person_says_them(delta, shown):
    now = datetime(2026, 12, 2, 1, 59, tzinfo=UTC)
    assert format_age(now - delta, now=now) == shown


def run_middleware(user):
    seen = {}

    def view(request):
        seen["zone"] = timezone.get_current_timezone_name()
        return HttpResponse()

    request = RequestFactory().get("/admin/")
    request.user = user
    ViewerTimeZoneMiddleware(view)(request)
    return seen["zone"]


@pytest.mark.django_db
def test_the_middleware_activates_the_viewers_zone_in_one_query_and_then_deactivates(django_assert_num_queries):
    user = UserFactory(username="nina")
    Profile.objects.create(user=user, time_zone="America/New_York")
    fresh = type(user).objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert run_middleware(fresh) == "America/New_York"
        assert viewer_zone(fresh).key == "America/New_York"
    assert timezone.get_current_timezone_name() == "Europe/Zurich"


@pytest.mark.django_db
def test_no_profile_or_no_zone_means_the_installations_zone(settings):
    settings.TIME_ZONE = "Europe/Zurich"
    without_profile = UserFactory(username="pia")
    empty = UserFactory(username="emil")
    Profile.objects.create(user=empty, time_zone="")
    assert run_middleware(without_profile) == "Europe/Zurich"
    assert run_middleware(empty) == "Europe/Zurich"


def test_anonymous_visitors_read_the_installations_zone():
    assert run_middleware(AnonymousUser()) == timezone.get_default_timezone_name()
