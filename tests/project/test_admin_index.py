"""The admin index is organised by what people do: open incidents and who is on call first, then the apps in the
order they are used; plumbing is for superusers only, under one "System" heading, and refused to the roles."""

import re
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import IncidentRole, Page
from people.models import Profile
from tests.factories import IncidentFactory, UserFactory
from tests.rotations.factories import LayerFactory, ScheduleFactory

pytestmark = pytest.mark.django_db

LONG_AGO = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
APPS_IN_ORDER = ["incidents", "reviews", "rotations", "releases", "comms", "people"]
PLUMBING_PAGES = [
    "admin:authtoken_tokenproxy_changelist",
    "admin:django_q_schedule_changelist",
    "admin:django_q_success_changelist",
    "admin:incidents_alert_changelist",
    "admin:auth_group_changelist",
]
RECORD_PAGES = [
    "admin:incidents_timelineentry_changelist",
    "admin:incidents_notification_changelist",
    "admin:incidents_incidentrole_changelist",
    "admin:comms_delivery_changelist",
]


def index_for(user):
    client = Client()
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response


def linked_models(response):
    return {
        (app["app_label"], model["object_name"].lower())
        for app in response.context["app_list"]
        for model in app["models"]
    }


def on_call(schedule_name, user):
    schedule = ScheduleFactory(name=schedule_name)
    LayerFactory(schedule=schedule, rotation_start=LONG_AGO, shift_length=52 * 10, participants=[user])
    return schedule


def test_a_responder_sees_open_incidents_first_then_on_call_then_the_apps_in_order(responder, teammate, service):
    IncidentFactory(service=service, title="Search is slow")
    on_call("Platform", teammate)
    html = index_for(responder).content.decode()
    positions = [html.index('id="piquet-open-incidents"'), html.index('id="piquet-oncall-now"')]
    positions += [html.index(f'class="app-{label} module') for label in APPS_IN_ORDER]
    assert positions == sorted(positions)
    assert html.index('id="piquet-open-incidents"') < html.index('id="content-main"') + 200
    assert "Search is slow" in html and "On call now and next" in html


def test_the_open_incidents_put_mine_first(responder, teammate, service):
    IncidentFactory(service=service, title="Old and not mine")
    paged = IncidentFactory(service=service, title="Paged to me")
    Page.objects.create(incident=paged, round=0, step=0, user=responder)
    led = IncidentFactory(service=service, title="I command it")
    IncidentRole.objects.create(incident=led, role=IncidentRole.Role.COMMANDER, user=responder)
    IncidentFactory(service=service, title="New and not mine")
    html = index_for(responder).content.decode()
    block = html[html.index('id="piquet-open-incidents"') : html.index('id="piquet-oncall-now"')]
    titles = re.findall(r"#\d+ ([^<]+)</a>", block)
    assert set(titles[:2]) == {"Paged to me", "I command it"}
    assert set(titles[2:]) == {"Old and not mine", "New and not mine"}
    assert block.count('class="open-incident mine"') == 2


def test_the_on_call_block_puts_my_schedules_first_with_who_is_next(responder, teammate):
    on_call("Alpha", teammate)
    mine = ScheduleFactory(name="Beta")
    LayerFactory(schedule=mine, rotation_start=LONG_AGO, shift_unit="days", participants=[responder, teammate])
    html = index_for(responder).content.decode()
    block = html[html.index('id="piquet-oncall-now"') :]
    assert block.index("Beta") < block.index("Alpha")
    beta = block[block.index("Beta") : block.index("Alpha")]
    assert "Rita Responder" in beta and "Théo Teammate" in beta  # one now, the other next


@pytest.mark.parametrize(
    ("zone", "abbreviations"), [("America/New_York", {"EST", "EDT"}), ("Europe/Zurich", {"CET", "CEST"})]
)
def test_the_on_call_block_shows_handoffs_on_the_viewers_clock_with_the_zone_named(
    responder, teammate, zone, abbreviations
):
    Profile.objects.update_or_create(user=responder, defaults={"time_zone": zone})
    schedule = ScheduleFactory(name="Gamma")
    LayerFactory(schedule=schedule, rotation_start=LONG_AGO, shift_unit="days", participants=[responder, teammate])
    html = index_for(responder).content.decode()
    block = html[html.index('id="piquet-oncall-now"') :]
    shown = set(re.findall(r"<time [^>]*>\d{4}-\d\d-\d\d (\d\d:\d\d) (\w+)</time>", block))
    assert shown and {abbreviation for _time, abbreviation in shown} <= abbreviations
    assert {time for time, _abbreviation in shown} == {"03:00" if zone == "America/New_York" else "09:00"}
    assert "data-piquet-local" not in html  # no script rewrites them into the browser's zone


def test_a_responder_sees_no_plumbing(responder):
    response = index_for(responder)
    html = response.content.decode()
    assert "System" not in re.findall(r'class="section"[^>]*>([^<]+)<', html)
    models = linked_models(response)
    assert not {label for label, _model in models} & {"authtoken", "django_q", "axes", "system"}
    for url in ("/admin/authtoken/", "/admin/django_q/", "/admin/incidents/timelineentry/", "/admin/incidents/alert/"):
        assert f'href="{url}' not in html


@pytest.mark.parametrize("who", ["manager", "responder"])
def test_plumbing_pages_refuse_managers_and_responders(request, who, service):
    client = Client()
    client.force_login(request.getfixturevalue(who))
    for name in PLUMBING_PAGES:
        assert client.get(reverse(name)).status_code == 403, name
    for name in RECORD_PAGES:
        # Managers read the delivery logs, incident roles and timelines behind the dashboard; responders do not.
        assert client.get(reverse(name)).status_code == (200 if who == "manager" else 403), name


def test_the_incident_page_still_shows_a_responder_its_timeline(responder, service):
    incident = IncidentFactory(service=service, title="Checkout answers 502")
    client = Client()
    client.force_login(responder)
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert 'class="piquet-timeline"' in page and 'id="note-form"' in page


def test_a_superuser_finds_the_plumbing_under_one_system_heading_last(admin_user):
    response = index_for(admin_user)
    app_list = response.context["app_list"]
    assert [app["app_label"] for app in app_list][-1] == "system"
    assert [app["app_label"] for app in app_list][: len(APPS_IN_ORDER)] == APPS_IN_ORDER
    system = {model["object_name"].lower() for model in app_list[-1]["models"]}
    assert {"tokenproxy", "schedule", "success", "alert", "timelineentry", "notification", "group"} <= system
    assert not any(app["app_label"] in ("authtoken", "django_q") for app in app_list)
    html = response.content.decode()
    assert html.count(">System</a>") == 1
    client = Client()
    client.force_login(admin_user)
    for name in PLUMBING_PAGES + RECORD_PAGES:
        assert client.get(reverse(name)).status_code == 200, name


def test_a_stakeholder_sees_only_incidents_and_status_updates(stakeholder, service):
    IncidentFactory(service=service, title="Checkout answers 502")
    response = index_for(stakeholder)
    assert linked_models(response) == {("incidents", "incident"), ("comms", "statusupdate")}
    html = response.content.decode()
    assert 'id="piquet-oncall-now"' not in html and 'id="incident-dashboard"' not in html
    client = Client()
    client.force_login(stakeholder)
    for name in (
        "rotations_schedule",
        "incidents_service",
        "auth_user",
        "releases_releasewindow",
    ):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 403, name
    # Their own contact methods and profile stay theirs to keep (people's self-service), off the index.
    assert client.get(reverse("admin:comms_statusupdate_changelist")).status_code == 200
    assert client.get(reverse("admin:incidents_incident_changelist")).status_code == 200


def seed(count, responder, service):
    for n in range(count):
        incident = IncidentFactory(service=service, title=f"Incident {n}")
        if n % 2:
            Page.objects.create(incident=incident, round=0, step=0, user=responder)
        other = UserFactory()
        schedule = ScheduleFactory(name=f"Schedule {ScheduleFactory._meta.model.objects.count()}")
        LayerFactory(schedule=schedule, rotation_start=LONG_AGO, shift_unit="days", participants=[responder, other])


@pytest.mark.parametrize("who", ["responder", "manager"])
def test_the_index_blocks_issue_the_same_number_of_queries_for_2_and_20(
    request, who, responder, service, django_assert_max_num_queries
):
    user = request.getfixturevalue(who)
    seed(2, responder, service)
    with django_assert_max_num_queries(60) as few:
        html = index_for(user).content.decode()
    assert html.count('class="open-incident') == 2 and html.count('class="oncall-row') == 2
    seed(18, responder, service)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = index_for(user).content.decode()
    assert html.count('class="open-incident') == 20 and html.count('class="oncall-row') == 20
