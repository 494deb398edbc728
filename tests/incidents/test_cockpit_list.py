"""The incident list as a responder's console: open incidents first, who holds them, in the viewer's time zone."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from incidents import lifecycle, roles
from incidents.models import IncidentRole, Page, Severity
from people.models import Profile
from project.roles import RESPONDERS
from tests.factories import IncidentFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("admin:incidents_incident_changelist")


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def titles(html):
    """The incident titles of the list, top to bottom."""
    return re.findall(r'<td class="field-title"><a href="[^"]*">([^<]*)</a>', html)


def test_the_list_shows_open_incidents_by_default_and_says_so(responder, service):
    IncidentFactory(service=service, title="Triggered one")
    lifecycle.acknowledge(IncidentFactory(service=service, title="Acknowledged one"), by=responder)
    lifecycle.resolve(IncidentFactory(service=service, title="Resolved one"), by=responder)

    html = logged_in(responder).get(LIST).content.decode()

    assert sorted(titles(html)) == ["Acknowledged one", "Triggered one"]
    assert "<h1>Open incidents</h1>" in html
    assert "Select incident to change" not in html


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("all", ["Acknowledged one", "Resolved one", "Triggered one"]),
        ("resolved", ["Resolved one"]),
        ("triggered", ["Triggered one"]),
        ("acknowledged", ["Acknowledged one"]),
        ("open", ["Acknowledged one", "Triggered one"]),
    ],
)
def test_the_status_filter_shows_all_or_one_status(responder, service, status, expected):
    IncidentFactory(service=service, title="Triggered one")
    lifecycle.acknowledge(IncidentFactory(service=service, title="Acknowledged one"), by=responder)
    lifecycle.resolve(IncidentFactory(service=service, title="Resolved one"), by=responder)

    html = logged_in(responder).get(LIST, {"status": status}).content.decode()

    assert sorted(titles(html)) == expected
    assert ("<h1>Open incidents</h1>" in html) == (status == "open")


def test_the_status_filter_offers_open_all_and_each_status(responder, service):
    html = logged_in(responder).get(LIST).content.decode()
    for choice in ("open", "triggered", "acknowledged", "resolved", "all"):
        assert f'href="?status={choice}"' in html
    assert re.search(r'<li class="selected">\s*<a href="\?status=open"', html)


def test_a_search_finds_a_resolved_incident_by_its_number(responder, service):
    old = IncidentFactory(service=service, title="Long gone")
    lifecycle.resolve(old, by=responder)
    html = logged_in(responder).get(LIST, {"q": old.number}).content.decode()
    assert titles(html) == ["Long gone"]


def test_mine_shows_incidents_that_paged_me_or_where_i_hold_a_role(responder, teammate, service):
    paged = IncidentFactory(service=service, title="Paged me")
    Page.objects.create(incident=paged, user=responder, round=0, step=0)
    commanded = IncidentFactory(service=service, title="I command")
    roles.assign(commanded, role=IncidentRole.Role.COMMANDER, user=responder, by=teammate)
    other = IncidentFactory(service=service, title="Not mine")
    roles.assign(other, role=IncidentRole.Role.COMMANDER, user=teammate, by=teammate)

    html = logged_in(responder).get(LIST, {"mine": "1"}).content.decode()

    assert sorted(titles(html)) == ["I command", "Paged me"]


def test_most_severe_first_then_newest(responder, service):
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    for minutes, title, severity in [
        (0, "Old SEV3", Severity.SEV3),
        (10, "Old SEV1", Severity.SEV1),
        (20, "New SEV3", Severity.SEV3),
        (30, "New SEV1", Severity.SEV1),
        (40, "Newest SEV2", Severity.SEV2),
    ]:
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            IncidentFactory(service=service, title=title, severity=severity)

    html = logged_in(responder).get(LIST).content.decode()

    assert titles(html) == ["New SEV1", "Old SEV1", "Newest SEV2", "New SEV3", "Old SEV3"]


def test_age_and_holder_columns_name_people_by_their_full_names(responder, teammate, service):
    with time_machine.travel(datetime.now(UTC) - timedelta(minutes=12), tick=False):
        acknowledged = IncidentFactory(service=service, title="Acknowledged by Rita")
    lifecycle.acknowledge(acknowledged, by=responder)
    commanded = IncidentFactory(service=service, title="Commanded by Théo")
    lifecycle.acknowledge(commanded, by=responder)
    roles.assign(commanded, role=IncidentRole.Role.COMMANDER, user=teammate, by=responder)
    IncidentFactory(service=service, title="Nobody yet")

    html = logged_in(responder).get(LIST).content.decode()
    rows = {title: row for row in html.split("<tr")[1:] for title in titles("<tr" + row)}

    assert re.search(r'class="field-age"><time [^>]*>12 min ago</time>', rows["Acknowledged by Rita"])
    assert '<td class="field-holder_display">Rita Responder</td>' in rows["Acknowledged by Rita"]
    # The commander holds the incident, whoever acknowledged it.
    assert '<td class="field-holder_display">Théo Teammate</td>' in rows["Commanded by Théo"]
    assert '<td class="field-holder_display">—</td>' in rows["Nobody yet"]
    assert ">rita<" not in html and ">theo<" not in html


def test_the_list_costs_the_same_queries_for_2_and_20_incidents(responder, teammate, django_assert_max_num_queries):
    client = logged_in(responder)

    def add(count):
        for _ in range(count):
            incident = IncidentFactory(service=ServiceFactory())
            lifecycle.acknowledge(incident, by=responder)
            roles.assign(incident, role=IncidentRole.Role.COMMANDER, user=teammate, by=responder)

    add(2)
    with django_assert_max_num_queries(40) as few:
        assert client.get(LIST).status_code == 200
    add(18)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    html = response.content.decode()
    assert html.count('class="field-number_display"') == 20
    assert html.count("Théo Teammate") == 20


def test_the_list_refreshes_itself_with_a_script_piquet_serves(responder, service):
    IncidentFactory(service=service)
    html = logged_in(responder).get(LIST).content.decode()

    assert '<script src="/static/incidents/cockpit.js" defer></script>' in html
    assert 'href="/static/incidents/cockpit.css"' in html
    assert re.search(r'<div id="piquet-incident-list" data-piquet-refresh="15">', html)
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and not [s for s in sources if re.match(r"(https?:)?//", s)]


def test_the_refresh_script_fetches_the_same_url_and_replaces_the_table_in_place():
    script = Path(finders.find("incidents/cockpit.js")).read_text(encoding="utf-8")
    assert "window.location.href" in script
    assert "innerHTML = fresh.innerHTML" in script
    assert "window.scrollTo(x, y)" in script
    assert "location.reload" not in script


def viewer_in(zone):
    user = UserFactory(
        username=f"viewer-{zone.split('/')[1].lower()}", first_name="Vera", last_name="Viewer", roles=[RESPONDERS]
    )
    Profile.objects.create(user=user, time_zone=zone)
    return user


@pytest.mark.parametrize(
    ("zone", "winter", "summer"),
    [
        ("America/New_York", "2026-01-15 07:00 EST", "2026-07-15 08:00 EDT"),
        ("Europe/Zurich", "2026-01-15 13:00 CET", "2026-07-15 14:00 CEST"),
    ],
)
def test_times_are_shown_in_the_viewers_zone_with_the_zone_named_across_dst(service, zone, winter, summer):
    for instant, title in [
        (datetime(2026, 1, 15, 12, 0, tzinfo=UTC), "Winter"),
        (datetime(2026, 7, 15, 12, 0, tzinfo=UTC), "Summer"),
    ]:
        with time_machine.travel(instant, tick=False):
            IncidentFactory(service=service, title=title)

    html = logged_in(viewer_in(zone)).get(LIST).content.decode()

    assert f">{winter}</time>" in html
    assert f">{summer}</time>" in html


def test_a_viewer_without_a_zone_reads_the_installations_zone(responder, service, settings):
    with time_machine.travel(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), tick=False):
        IncidentFactory(service=service)
    assert settings.TIME_ZONE == "Europe/Zurich"
    html = logged_in(responder).get(LIST).content.decode()
    assert ">2026-01-15 13:00 CET</time>" in html


def test_the_incident_record_lists_show_times_the_same_way_and_people_by_name(responder, teammate, service):
    with time_machine.travel(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), tick=False):
        incident = IncidentFactory(service=service)
        roles.assign(incident, role=IncidentRole.Role.COMMANDER, user=teammate, by=responder)
    viewer = viewer_in("America/New_York")
    viewer.is_superuser = True  # the raw record lists are the administrators' (System)
    viewer.save()
    client = logged_in(viewer)

    timeline = client.get(reverse("admin:incidents_timelineentry_changelist")).content.decode()
    held = client.get(reverse("admin:incidents_incidentrole_changelist")).content.decode()

    assert ">2026-01-15 07:00 EST</time>" in timeline
    assert ">2026-01-15 07:00 EST</time>" in held
    assert '<td class="field-holder">Théo Teammate</td>' in held
    assert '<td class="field-assigner">Rita Responder</td>' in held


def test_show_all_after_a_filter_shows_every_incident_not_the_open_ones_again(responder, service):
    IncidentFactory(service=service, title="Open one", severity=Severity.SEV1)
    lifecycle.resolve(IncidentFactory(service=service, title="Resolved one"), by=responder)
    client = logged_in(responder)

    filtered = client.get(LIST, {"severity__exact": "SEV1"}).content.decode()
    show_all = re.search(r'<a href="([^"]*)" id="show-all-incidents">Show all</a>', filtered)

    assert show_all and show_all.group(1) == "?status=all"
    assert sorted(titles(client.get(LIST + show_all.group(1)).content.decode())) == ["Open one", "Resolved one"]
