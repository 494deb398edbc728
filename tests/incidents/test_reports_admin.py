"""The Reports page of the admin: who finds it, its form, its tables, its charts and its CSV links."""

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents import lifecycle
from incidents.models import AckChannel, Page, Severity
from people.models import Profile, Team
from rotations.models import Layer
from tests.factories import IncidentFactory, ServiceFactory, UserFactory
from tests.rotations.factories import LayerFactory, ScheduleFactory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
URL = "/admin/incidents/incident/reports/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def figures(db, service):
    ada, ben = UserFactory(username="ada", first_name="Ada", last_name="Lovelace"), UserFactory(username="ben")
    Profile.objects.create(user=ada, time_zone="America/New_York")
    LayerFactory(
        schedule=ScheduleFactory(name="Platform", time_zone="Europe/Zurich"),
        rotation_start=datetime(2026, 11, 2, 7, 0, tzinfo=UTC),
        shift_unit=Layer.Unit.DAYS,
        participants=[ada, ben],
    )
    at = NOW - timedelta(days=2)
    with time_machine.travel(at, tick=False):
        incident = IncidentFactory(service=service, severity=Severity.SEV1)
    Page.objects.create(incident=incident, user=ada, round=0, step=0, created_at=at)  # 07:00 in New York
    with time_machine.travel(at + timedelta(seconds=150), tick=False):
        lifecycle.acknowledge(incident, by=ada, channel=AckChannel.VOICE)
    return ada, ben


def chart_svgs(html):
    return [base64.b64decode(src).decode() for src in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]


@pytest.mark.parametrize("who", ["responder", "manager"])
def test_the_reports_page_shows_tables_and_static_svg_charts(
    client, request, who, figures, django_assert_max_num_queries
):
    user = request.getfixturevalue(who)
    Profile.objects.create(user=user, time_zone="Europe/Zurich")
    client.force_login(user)

    with django_assert_max_num_queries(30):
        response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="report-severity"' in html
    assert "2 min 30 s" in html  # time to acknowledge
    assert "Voice call key press" in html
    assert "Ada Lovelace" in html
    # the period in the viewer's zone, with the zone named
    assert "From 2026-10-22 00:00 CEST to 2026-11-21 00:00 CET" in html
    svgs = chart_svgs(html)
    assert len(svgs) == 3
    for svg in svgs:
        assert svg.startswith("<svg")
        assert "<script" not in svg or "src=" not in svg.split("<script", 1)[1].split(">", 1)[0]
        assert not re.search(r'(href|src)="https?://', svg)  # nothing loaded from a CDN
    assert "Pages per person" in svgs[1]
    assert reverse("report-incidents") + "?start=" in html
    assert "format=csv" in html


def test_the_index_lists_reports_for_responders_and_managers_not_stakeholders(client, responder, manager, stakeholder):
    for user, listed in ((responder, True), (manager, True), (stakeholder, False)):
        client.force_login(user)
        assert (URL in client.get("/admin/").content.decode()) is listed, user
    assert client.get(URL).status_code == 403


def test_the_form_filters_and_refuses_a_bad_period(client, responder, figures, service):
    other = ServiceFactory(name="Shop", slug="shop")
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        IncidentFactory(service=other)
    client.force_login(responder)

    response = client.get(URL, {"service": other.pk, "start": "2026-11-01", "end": "2026-11-20"})
    assert response.context["figures"]["count"] == 1

    response = client.get(URL, {"start": "2026-11-20", "end": "2026-11-01"})
    assert response.status_code == 200
    assert "figures" not in response.context
    assert "The end must be after the start." in response.content.decode()

    response = client.get(URL, {"start": "2024-01-01", "end": "2026-11-01"})
    assert "A report covers at most 366 days." in response.content.decode()


def test_another_teams_service_cannot_be_chosen(client, responder):
    hidden = ServiceFactory(slug="hidden", team=Team.objects.create(name="Data", slug="data"))
    client.force_login(responder)

    response = client.get(URL, {"service": hidden.pk})

    assert response.status_code == 200
    assert "figures" not in response.context
    assert response.context["form"].errors["service"]


def test_the_csv_links_download_with_the_admin_session(client, manager, figures):
    client.force_login(manager)
    html = client.get(URL).content.decode()
    links = [link.replace("&amp;", "&") for link in re.findall(r'href="(/api/v1/reports/[^"]+)"', html)]
    assert len(links) == 2

    incidents, load = (client.get(link) for link in links)

    assert incidents.status_code == load.status_code == 200
    assert "by_severity,SEV1,1" in incidents.content.decode()
    assert load.content.decode().splitlines()[0] == "user,name,oncall_seconds,pages,off_hours_pages,sleep_interruptions"
    assert "ada,Ada Lovelace," in load.content.decode()


def test_a_team_member_chooses_among_their_own_teams(client, responder):
    ours = Team.objects.create(name="Web", slug="web")
    Team.objects.create(name="Data", slug="data")
    ours.memberships.create(user=responder)
    client.force_login(responder)

    form = client.get(URL).context["form"]

    assert list(form.fields["team"].queryset) == [ours]
