"""The releases admin: windows in words, preview, week view, approving exceptions, deployments."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from releases.models import FreezeException, ReleaseWindow
from tests.factories import ServiceFactory, UserFactory
from tests.releases.factories import DeploymentFactory, FreezeExceptionFactory, ReleaseWindowFactory

pytestmark = pytest.mark.django_db
ZURICH = ZoneInfo("Europe/Zurich")
THURSDAY = datetime(2026, 11, 26, 10, 0, tzinfo=ZURICH)


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


def test_window_changelist_shows_the_next_occurrence_in_words(admin_client, service):
    ReleaseWindowFactory(name="Weekend freeze", services=[service])
    with time_machine.travel(THURSDAY, tick=False):
        response = admin_client.get(reverse("admin:releases_releasewindow_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Weekend freeze" in html
    assert "Fri 12:00 → Mon 08:00, Europe/Zurich" in html
    assert "Website" in html
    assert reverse("admin:releases_releasewindow_week") in html


def test_window_changelist_dates_an_occurrence_more_than_a_week_away(admin_client):
    ReleaseWindowFactory(name="Holidays", start_cron="", end_cron="", holiday_country="CH", holiday_subdivision="ZH")
    with time_machine.travel(THURSDAY, tick=False):
        html = admin_client.get(reverse("admin:releases_releasewindow_changelist")).content.decode()
    assert "Fri 25 Dec 00:00 → Sun 27 Dec 00:00, Europe/Zurich" in html


def test_window_changelist_active_filter(admin_client):
    ReleaseWindowFactory(name="Weekend freeze")
    ReleaseWindowFactory(name="Evening freeze", start_cron="0 16 * * 1-4", end_cron="0 8 * * 2-5")
    url = reverse("admin:releases_releasewindow_changelist")
    with time_machine.travel(datetime(2026, 11, 28, 10, 0, tzinfo=ZURICH), tick=False):
        html = admin_client.get(url, {"active": "yes"}).content.decode()
    assert "Weekend freeze" in html and "Evening freeze" not in html


def test_window_changelist_queries_do_not_grow(admin_client, django_assert_max_num_queries):
    services = [ServiceFactory() for _ in range(3)]
    ReleaseWindowFactory(services=services)
    url = reverse("admin:releases_releasewindow_changelist")
    admin_client.get(url)
    with django_assert_max_num_queries(14):
        assert admin_client.get(url).status_code == 200
    for n in range(20):
        ReleaseWindowFactory(services=services, start_cron=f"{n} 12 * * 5")
    with django_assert_max_num_queries(14):
        assert admin_client.get(url).status_code == 200


def test_change_form_previews_the_next_ten_occurrences_and_the_rule(admin_client):
    window = ReleaseWindowFactory(name="Evening freeze", start_cron="0 16 * * 1-4", end_cron="0 8 * * 2-5")
    with time_machine.travel(THURSDAY, tick=False):
        response = admin_client.get(reverse("admin:releases_releasewindow_change", args=[window.pk]))
    html = response.content.decode()
    preview = re.search(r'<ol class="release-preview">(.*?)</ol>', html, re.S).group(1)
    items = re.findall(r"<li>(.*?) <small>", preview)
    assert len(items) == 10
    assert items[0] == "Thu 26 Nov 16:00 → Fri 27 Nov 08:00, Europe/Zurich"
    assert items[1] == "Mon 30 Nov 16:00 → Tue 01 Dec 08:00, Europe/Zurich"
    assert "Monday through Thursday" in html


def add_form(**fields):
    data = {
        "name": "Weekend freeze",
        "kind": "deny",
        "enforcement": "hard",
        "enabled": "on",
        "time_zone": "Europe/Zurich",
        "start_cron": "0 12 * * 5",
        "end_cron": "0 8 * * 1",
        "message": "",
        "environments": "",
        "starts_at_0": "",
        "starts_at_1": "",
        "ends_at_0": "",
        "ends_at_1": "",
        "holiday_country": "",
        "holiday_subdivision": "",
    }
    data.update(fields)
    return data


def test_admin_creates_a_valid_window(admin_client):
    response = admin_client.post(reverse("admin:releases_releasewindow_add"), add_form())
    assert response.status_code == 302
    assert ReleaseWindow.objects.get().start_cron == "0 12 * * 5"


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"start_cron": "0 12 * *"}, "is not a 5-field cron expression"),
        ({"time_zone": "Europe/Zürich"}, "Unknown time zone"),
        (
            {"starts_at_0": "2026-12-20", "starts_at_1": "00:00", "ends_at_0": "2026-12-21", "ends_at_1": "00:00"},
            "Give only one form",
        ),
        ({"start_cron": "", "end_cron": ""}, "Give the window&#x27;s time"),
        (
            {
                "start_cron": "",
                "end_cron": "",
                "starts_at_0": "2026-12-21",
                "starts_at_1": "00:00",
                "ends_at_0": "2026-12-20",
                "ends_at_1": "00:00",
            },
            "ends_at must be after starts_at",
        ),
    ],
)
def test_admin_validation_shows_form_errors(admin_client, fields, message):
    response = admin_client.post(reverse("admin:releases_releasewindow_add"), add_form(**fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ReleaseWindow.objects.exists()


def week_states(html):
    return re.findall(r'data-state="(\w+)"', html)


def test_week_view_paints_blocked_warned_and_allowed_hours(admin_client, service):
    ReleaseWindowFactory(name="Weekend freeze")
    ReleaseWindowFactory(name="Quiet mornings", enforcement="soft", start_cron="0 8 * * 1-5", end_cron="0 9 * * 1-5")
    url = reverse("admin:releases_releasewindow_week")
    response = admin_client.get(url, {"service": "website", "week": "2026-11-25"})
    assert response.status_code == 200
    states = week_states(response.content.decode())
    assert len(states) == 7 * 24
    monday, friday, saturday = states[0:24], states[4 * 24 : 5 * 24], states[5 * 24 : 6 * 24]
    assert monday[:8] == ["blocked"] * 8
    assert monday[8] == "warned"
    assert monday[9:] == ["allowed"] * 15
    assert friday[8] == "warned"
    assert friday[11] == "allowed" and friday[12] == "blocked"
    assert saturday == ["blocked"] * 24
    assert states.count("blocked") == 8 + 12 + 48


def test_week_view_has_23_hours_on_the_spring_forward_sunday(admin_client, service):
    url = reverse("admin:releases_releasewindow_week")
    states = week_states(admin_client.get(url, {"service": "website", "week": "2026-03-23"}).content.decode())
    assert len(states) == 7 * 24 - 1


def test_week_view_reports_bad_input_on_the_page(admin_client, service):
    url = reverse("admin:releases_releasewindow_week")
    response = admin_client.get(url, {"service": "nope", "tz": "Nowhere/City", "week": "last week"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unknown time zone" in html and "Unknown service" in html and "The week must be a date" in html


def test_week_view_needs_view_permission(client, db):
    client.force_login(UserFactory(username="staffer", is_staff=True))
    assert client.get(reverse("admin:releases_releasewindow_week")).status_code == 403


def test_manager_approves_an_exception_with_the_action(admin_client, responder, service):
    exception = FreezeExceptionFactory(services=[service], requested_by=responder)
    response = admin_client.post(
        reverse("admin:releases_freezeexception_changelist"),
        {"action": "approve_selected", "_selected_action": [exception.pk]},
        follow=True,
    )
    assert "1 exception approved." in response.content.decode()
    exception.refresh_from_db()
    assert exception.approved_by.username == "mona"


def test_the_approve_action_refuses_self_approval(admin_client, manager, service):
    exception = FreezeExceptionFactory(services=[service], requested_by=manager)
    response = admin_client.post(
        reverse("admin:releases_freezeexception_changelist"),
        {"action": "approve_selected", "_selected_action": [exception.pk]},
        follow=True,
    )
    assert "You cannot approve your own request" in response.content.decode()
    exception.refresh_from_db()
    assert exception.approved_by is None


def test_exception_added_in_the_admin_is_requested_by_the_current_user(admin_client, service):
    response = admin_client.post(
        reverse("admin:releases_freezeexception_add"),
        {
            "services": [service.pk],
            "reason": "Urgent fix",
            "starts_at_0": "2026-12-01",
            "starts_at_1": "10:00",
            "ends_at_0": "2026-12-01",
            "ends_at_1": "12:00",
            "incident": "",
        },
    )
    assert response.status_code == 302
    assert FreezeException.objects.get().requested_by.username == "mona"


def test_exception_changelist_queries_do_not_grow(admin_client, service, django_assert_max_num_queries):
    url = reverse("admin:releases_freezeexception_changelist")
    FreezeExceptionFactory(services=[service])
    admin_client.get(url)
    with django_assert_max_num_queries(14):
        assert admin_client.get(url).status_code == 200
    for _ in range(15):
        FreezeExceptionFactory(services=[service, ServiceFactory()], requested_by=UserFactory())
    with django_assert_max_num_queries(14):
        assert admin_client.get(url).status_code == 200


def test_deployments_are_filterable_by_flag_and_decision(admin_client, service, django_assert_max_num_queries):
    DeploymentFactory(service=service, version="9.9.9-flagged", decision="blocked", flagged=True)
    DeploymentFactory(service=service, version="1.0.0-fine")
    url = reverse("admin:releases_deployment_changelist")
    html = admin_client.get(url, {"flagged__exact": "1"}).content.decode()
    assert "9.9.9-flagged" in html and "1.0.0-fine" not in html
    html = admin_client.get(url, {"decision__exact": "allowed"}).content.decode()
    assert "1.0.0-fine" in html and "9.9.9-flagged" not in html
    with django_assert_max_num_queries(14):
        assert admin_client.get(url).status_code == 200
    for _ in range(15):
        DeploymentFactory(service=ServiceFactory())
    with django_assert_max_num_queries(14):
        assert admin_client.get(url).status_code == 200


def test_announcement_changelist_queries_do_not_grow(admin_client, django_assert_max_num_queries):
    from releases.models import FreezeAnnouncement

    url = reverse("admin:releases_freezeannouncement_changelist")
    window = ReleaseWindowFactory()
    FreezeAnnouncement.objects.create(window=window, occurrence_start=THURSDAY, occurrence_end=THURSDAY, kind="begin")
    admin_client.get(url)
    with django_assert_max_num_queries(14):
        assert admin_client.get(url).status_code == 200
    for _ in range(15):
        FreezeAnnouncement.objects.create(
            window=ReleaseWindowFactory(), occurrence_start=THURSDAY, occurrence_end=THURSDAY, kind="end", error="x"
        )
    with django_assert_max_num_queries(14):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('class="field-kind"') == 16
