"""What the public reads is what a person said: no automatic public posts, no rewritten history, no jargon."""

import datetime as dt
import json
import re

import feedparser
import pytest
import time_machine
from django.core import mail
from django.test import Client

from comms.models import StatusPageSettings, StatusUpdate
from comms.stakeholder_messages import render_markdown
from incidents.models import Incident, IncidentRole, PublicStatus, ServiceStatusChange
from incidents.public_status import set_public_status
from tests.factories import IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db
ALERT = "Disk 95% full on db-1 (/var/lib/postgresql)"
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
JARGON = ("SEV1", "SEV2", "SEV3", "SEV4", "commander", "Commander", "incident process", "db-1")


@pytest.fixture
def visitor():
    return Client()


def trigger(integration, summary=ALERT, key="db-1-disk"):
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": summary, "source": "db-1", "severity": "critical"},
    }
    response = Client().post("/v2/enqueue", json.dumps(body), content_type="application/json")
    assert response.status_code == 202, response.content
    return Incident.objects.get(dedup_key=key)


def public_views(visitor, **headers):
    """The page, the incident pages, the feed and the JSON as a visitor sees them, as text."""
    page = visitor.get("/status/", **headers).content.decode()
    feed = visitor.get("/status/feed/", **headers).content.decode()
    data = visitor.get("/api/v1/status/", **headers).content.decode()
    incidents = "".join(
        visitor.get(f"/status/incidents/{number}/", **headers).content.decode()
        for number in Incident.objects.values_list("number", flat=True)
    )
    return page, feed, data, incidents


def test_a_triggered_sev1_reaches_stakeholders_but_not_the_public_until_a_person_posts(
    visitor, integration, customers, claire, api_for, responder, manager, run_tasks
):
    with run_tasks():
        incident = trigger(integration)
    notice = StatusUpdate.objects.get(incident=incident)
    assert notice.kind == StatusUpdate.Kind.NOTICE and notice.public is False
    assert sorted(notice.texts) == ["de", "en", "fr", "it"]
    assert any(ALERT in m.body for m in mail.outbox)  # the stakeholder group heard, internally, in French
    assert any("Nous avons connaissance" in m.body for m in mail.outbox)

    for view in public_views(visitor):
        assert ALERT not in view and "Disk 95%" not in view
    assert visitor.get(f"/status/incidents/{incident.number}/").status_code == 404
    assert json.loads(public_views(visitor)[2])["incidents"] == []

    api = api_for(responder)
    body = {
        "phase": "investigating",
        "message": "Some customers see errors at checkout. We are on it.",
        "public": True,
        "public_title": "Errors at checkout",
        "service_status": "partial_outage",
    }
    with run_tasks():
        response = api.post(f"/api/v1/incidents/{incident.pk}/status-updates/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["service_status"] == "partial_outage"

    page, feed, data, incident_page = public_views(visitor)
    assert "Errors at checkout" in page and "Errors at checkout" in incident_page
    assert "Some customers see errors at checkout." in page
    assert re.search(r'id="service-website".*?class="state partial_outage">Partial outage', page, re.S)
    for view in (page, feed, data, incident_page):
        assert ALERT not in view
        for word in JARGON:
            assert word not in view, (word, view[:200])
    [active] = json.loads(data)["incidents"]
    assert active["title"] == "Errors at checkout" and active["status"] == "partial_outage"
    assert active["impact"] == "Major outage"  # the SEV1's public impact label, never its code
    posted_html = str(render_markdown(body["message"]))
    sent = [m.body for m in mail.outbox if body["message"] in m.body]
    assert sent

    # Later changes never rewrite what was sent.
    before = list(StatusUpdate.objects.order_by("pk").values_list("message", "texts"))
    roles = api_for(manager).post(
        f"/api/v1/incidents/{incident.pk}/roles/", {"role": "commander", "user": responder.pk}, format="json"
    )
    assert roles.status_code in (200, 201), roles.content
    with run_tasks():
        changed = api.post(
            f"/api/v1/incidents/{incident.pk}/severity/", {"severity": "SEV2", "reason": "Checkout only"}, format="json"
        )
    assert changed.status_code == 200, changed.content
    assert IncidentRole.objects.filter(incident=incident, role="commander").exists()
    assert list(StatusUpdate.objects.order_by("pk").values_list("message", "texts")) == before
    page, feed, data, incident_page = public_views(visitor)
    assert posted_html in page and posted_html in incident_page
    assert json.loads(data)["incidents"][0]["updates"][0]["message"] == posted_html
    entry = feedparser.parse(feed).entries[0]
    assert entry.summary == posted_html
    notice.refresh_from_db()
    assert "being assigned" in notice.texts["en"] and responder.get_full_name() not in notice.texts["en"]
    assert [m.body for m in mail.outbox if body["message"] in m.body] == sent


def test_a_service_that_opts_in_publishes_new_incidents_with_its_public_name_only(visitor, integration, run_tasks):
    service = integration.service
    service.public_name, service.auto_publish = "Online shop", True
    service.save()
    with run_tasks():
        incident = trigger(integration)

    public = StatusUpdate.objects.get(incident=incident, public=True)
    assert public.kind == StatusUpdate.Kind.PUBLIC_NOTICE and public.author is None
    assert public.service_status == PublicStatus.MAJOR_OUTAGE
    page, feed, data, incident_page = public_views(visitor)
    assert "We are investigating an issue affecting Online shop." in page
    assert re.search(r'id="service-website".*?class="state major_outage">Major outage', page, re.S)
    for view in (page, feed, data, incident_page):
        assert ALERT not in view
        assert "SEV1" not in view
    # Written once in every language when posted, served in the reader's.
    german = visitor.get("/status/?lang=de").content.decode()
    assert '<html lang="de">' in german
    assert "Wir untersuchen ein Problem, das Online shop betrifft." in german
    italian = visitor.get("/status/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert '<html lang="it">' in italian
    assert "Stiamo analizzando un problema che riguarda Online shop." in italian
    with run_tasks():
        trigger(integration, key="db-1-disk")  # the same incident again: one public notice
    assert StatusUpdate.objects.filter(incident=incident, public=True).count() == 1


def test_without_the_opt_in_nothing_is_public_and_the_service_stays_operational(visitor, integration, run_tasks):
    with run_tasks():
        trigger(integration)
    assert not StatusUpdate.objects.filter(public=True).exists()
    data = visitor.get("/api/v1/status/").json()
    assert data["status"] == "operational" and data["services"][0]["status"] == "operational"


def test_the_history_shows_each_day_as_its_worst_public_status(visitor, service, manager):
    with time_machine.travel(NOW - dt.timedelta(days=120)):
        set_public_status(service, "degraded_performance", by=manager)  # carried into the window
    with time_machine.travel(NOW - dt.timedelta(days=80)):
        set_public_status(service, "operational", by=manager)
    with time_machine.travel(NOW - dt.timedelta(days=5, hours=2)):
        set_public_status(service, "major_outage", by=manager)
    with time_machine.travel(NOW - dt.timedelta(days=5, hours=1)):
        set_public_status(service, "operational", by=manager)
    with time_machine.travel(NOW - dt.timedelta(days=1)):
        set_public_status(service, "under_maintenance", by=manager)
    assert ServiceStatusChange.objects.filter(service=service).count() == 5
    assert not set_public_status(service, "under_maintenance")  # unchanged: no history row
    with time_machine.travel(NOW):
        data = visitor.get("/api/v1/status/").json()
        html = visitor.get("/status/").content.decode()
    [website] = data["services"]
    days = {d["date"]: d["status"] for d in website["history"]}
    assert len(days) == 90
    assert days["2026-08-30"] == "degraded_performance"  # the first day, still degraded from before the window
    assert days["2026-09-08"] == "degraded_performance"  # operational again at noon: the day was degraded
    assert days["2026-09-09"] == "operational"
    assert days["2026-11-22"] == "major_outage"  # down for an hour: the day counts as down
    assert days["2026-11-23"] == "operational"
    assert days["2026-11-26"] == "under_maintenance" and days["2026-11-27"] == "under_maintenance"
    assert website["status"] == "under_maintenance"
    assert 'class="banner under_maintenance"' in html


@pytest.mark.parametrize("count", [2, 20])
def test_the_history_costs_the_same_queries_for_2_or_20_services(
    visitor, count, manager, django_assert_max_num_queries
):
    for index in range(count):
        service = ServiceFactory()
        for days, status in ((30, "major_outage"), (29, "operational"), (3, "partial_outage")):
            with time_machine.travel(NOW - dt.timedelta(days=days, minutes=index)):
                set_public_status(service, status, by=manager)
    with time_machine.travel(NOW), django_assert_max_num_queries(9):
        assert visitor.get("/status/").status_code == 200


def test_the_page_carries_the_organisation_from_the_environment_and_the_admin(visitor, settings):
    settings.PIQUET_ORG_NAME = "Acme"
    settings.PIQUET_SUPPORT_CONTACT = "support@acme.example"
    html = visitor.get("/status/").content.decode()
    assert "<title>Acme status</title>" in html
    assert '<a href="mailto:support@acme.example">' in html
    StatusPageSettings.objects.create(
        org_name="Acme Shops", logo_url="https://acme.example/logo.png", home_url="https://acme.example/"
    )
    html = visitor.get("/status/").content.decode()
    assert "<title>Acme Shops status</title>" in html
    assert '<a class="home" href="https://acme.example/">' in html
    assert '<img src="https://acme.example/logo.png" alt="Acme Shops">' in html
    assert visitor.get("/api/v1/status/").json()["organisation"] == "Acme Shops"


def test_branding_is_set_in_the_admin_and_the_logo_must_be_https(admin_client):
    response = admin_client.post(
        "/admin/comms/statuspagesettings/add/",
        {"org_name": "Acme", "logo_url": "http://acme.example/logo.png", "home_url": "", "support_contact": ""},
    )
    assert response.status_code == 200 and not StatusPageSettings.objects.exists()
    response = admin_client.post(
        "/admin/comms/statuspagesettings/add/",
        {"org_name": "Acme", "logo_url": "https://acme.example/logo.png", "home_url": "", "support_contact": ""},
    )
    assert response.status_code == 302
    assert StatusPageSettings.objects.get().org_name == "Acme"
    assert admin_client.get("/admin/comms/statuspagesettings/add/").status_code == 403  # one row


def test_a_status_update_sets_the_service_status_and_bad_values_get_a_400(api_for, responder, service):
    incident = IncidentFactory(service=service, title=ALERT, severity="SEV1")
    api = api_for(responder)
    url = f"/api/v1/incidents/{incident.pk}/status-updates/"
    bad = api.post(url, {"phase": "investigating", "message": "x", "service_status": "on_fire"}, format="json")
    assert bad.status_code == 400 and "service_status" in bad.json()
    too_long = api.post(url, {"phase": "investigating", "message": "x", "public_title": "x" * 201}, format="json")
    assert too_long.status_code == 400 and "public_title" in too_long.json()
    assert not StatusUpdate.objects.exists()
    good = api.post(url, {"phase": "identified", "message": "Found it.", "service_status": "degraded_performance"})
    assert good.status_code == 201
    service.refresh_from_db()
    assert service.public_status == "degraded_performance"
    change = ServiceStatusChange.objects.get(service=service)
    assert change.by == responder and change.status == "degraded_performance"


def test_people_in_the_admin_post_with_a_public_title_and_a_proposed_service_status(
    client, responder, service, run_tasks
):
    client.force_login(responder)
    incident = IncidentFactory(service=service, title=ALERT, severity="SEV2")
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert re.search(r'<option value="partial_outage" selected>', page)  # proposed from SEV2
    with run_tasks():
        response = client.post(
            f"/admin/incidents/incident/{incident.pk}/status-update/",
            {
                "phase": "monitoring",
                "message": "Pages load again.",
                "public": "on",
                "public_title": "Slow pages",
                "service_status": "operational",
            },
        )
    assert response.status_code == 302
    incident.refresh_from_db()
    service.refresh_from_db()
    assert incident.public_title == "Slow pages" and service.public_status == "operational"
    update = StatusUpdate.objects.get()
    assert update.service_status == "operational" and update.public


def test_first_notices_published_before_become_internal(service):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("comms.migrations.0010_public_texts_and_branding")
    incident = IncidentFactory(service=service, title=ALERT, severity="SEV1")
    old = StatusUpdate.objects.create(incident=incident, kind="notice", phase="investigating", message=ALERT)
    person = StatusUpdate.objects.create(incident=incident, kind="update", phase="identified", message="Found it.")
    migration.unpublish_first_notices(apps, None)
    old.refresh_from_db()
    person.refresh_from_db()
    assert old.public is False and person.public is True


def test_a_component_status_set_through_the_api_shows_on_the_page_and_the_json(visitor, service, api_for, manager):
    response = api_for(manager).patch(
        f"/api/v1/services/{service.pk}/",
        {
            "public_name": "Online shop",
            "public_description": "Browsing and checkout",
            "public_status": "degraded_performance",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    page = visitor.get("/status/").content.decode()
    assert re.search(
        r'id="service-website".*?Online shop.*?class="state degraded_performance">Degraded performance.*?'
        r"Browsing and checkout",
        page,
        re.S,
    )
    assert 'class="banner degraded_performance"' in page
    [row] = visitor.get("/api/v1/status/").json()["services"]
    assert row["name"] == "Online shop" and row["status"] == "degraded_performance"
    assert row["history"][-1]["status"] == "degraded_performance"


@pytest.mark.parametrize(
    ("language", "operational", "services"),
    [
        ("de", "Alle Systeme in Betrieb", "Services"),
        ("it", "Tutti i sistemi sono operativi", "Servizi"),
        ("fr", "Tous les systèmes sont opérationnels", "Services"),
    ],
)
def test_the_status_page_speaks_german_italian_and_french(visitor, service, language, operational, services):
    for page in (
        visitor.get("/status/", HTTP_ACCEPT_LANGUAGE=f"{language}-CH,{language};q=0.9").content.decode(),
        visitor.get(f"/status/?lang={language}", HTTP_ACCEPT_LANGUAGE="en").content.decode(),
    ):
        assert f'<html lang="{language}">' in page
        assert operational in page and f"<h2>{services}</h2>" in page
        assert "All systems operational" not in page
    english = visitor.get("/status/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english and "All systems operational" in english
