"""A responder's console in a real browser (Debian's Chromium): the list keeps itself current and fits a phone."""

import time

import pytest
from django.urls import reverse

from incidents import lifecycle
from incidents.models import Incident
from tests.factories import IncidentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}


def new_page(chromium, **options):
    context = chromium.new_context(locale="en-GB", **options)
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page, live_url, user):
    page.goto(live_url + reverse("admin:login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "secret-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(live_url + reverse("admin:index"))


def test_the_list_shows_open_incidents_and_picks_up_a_new_one_without_a_reload(
    chromium, responder, live_url, client, integration
):
    IncidentFactory(service=integration.service, title="Disk almost full")
    lifecycle.resolve(IncidentFactory(service=integration.service, title="Yesterday's outage"), by=responder)
    page = new_page(chromium)
    log_in(page, live_url, responder)
    page.goto(live_url + reverse("admin:incidents_incident_changelist"))
    page.evaluate("window.piquetNotReloaded = true")

    titles = page.locator("#result_list td.field-title")
    assert titles.all_inner_texts() == ["Disk almost full"]
    assert page.locator("h1").inner_text() == "Open incidents"

    event = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": "checkout-502",
        "payload": {"summary": "Checkout answers 502", "source": "probe", "severity": "critical"},
    }
    assert client.post("/v2/enqueue", event, content_type="application/json").status_code == 202
    assert Incident.objects.filter(title="Checkout answers 502").exists()

    deadline = time.monotonic() + 20
    while "Checkout answers 502" not in titles.all_inner_texts() and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert "Checkout answers 502" in titles.all_inner_texts()
    assert page.evaluate("window.piquetNotReloaded") is True, "the page was reloaded"
    assert "Yesterday's outage" not in titles.all_inner_texts()

    # The refreshed rows still work with the admin's actions: select all ticks them and counts them.
    page.click("#action-toggle")
    assert page.locator("input.action-select:checked").count() == 2
    assert page.locator(".action-counter").inner_text().startswith("2 of 2")


def test_at_phone_width_severity_and_status_are_on_screen(chromium, responder, live_url, service):
    IncidentFactory(service=service, title="Payments are failing for customers paying by card in Switzerland")
    lifecycle.acknowledge(IncidentFactory(service=service, title="Search is slow", severity="SEV1"), by=responder)
    page = new_page(chromium, viewport=PHONE)
    log_in(page, live_url, responder)
    page.goto(live_url + reverse("admin:incidents_incident_changelist"))

    cells = page.locator("#result_list td.field-severity_badge, #result_list td.field-status_badge").all()
    assert len(cells) == 4
    for cell in cells:
        box = cell.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (cell.inner_text(), box)
    assert page.locator("#result_list td.field-title").first.is_visible()
    assert not page.locator("#result_list td.field-service").first.is_visible()


def test_the_incident_page_shows_the_runbook_as_a_link_above_the_timeline_which_refreshes_itself(
    chromium, responder, live_url, client, integration
):
    runbook = "https://runbooks.example.com/checkout"
    event = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": "checkout-502",
        "payload": {
            "summary": "Checkout answers 502",
            "source": "probe",
            "severity": "critical",
            "custom_details": {"runbook": runbook, "trap": "javascript:alert(1)"},
        },
    }
    assert client.post("/v2/enqueue", event, content_type="application/json").status_code == 202
    incident = Incident.objects.get(dedup_key="checkout-502")
    page = new_page(chromium)
    log_in(page, live_url, responder)
    page.goto(live_url + reverse("admin:incidents_incident_change", args=[incident.pk]))

    link = page.get_by_role("link", name=runbook)
    assert link.get_attribute("href") == runbook
    assert page.locator("#alert-details a[href^='javascript:']").count() == 0
    timeline = page.locator("#timeline").bounding_box()
    assert link.bounding_box()["y"] < timeline["y"]
    assert page.locator(f"h1:text-is('Incident #{incident.number}')").count() == 1
    assert page.locator("input[name=_addanother], input[name=_continue], a.deletelink").count() == 0

    # The timeline keeps itself current too.
    page.evaluate("window.piquetNotReloaded = true")
    lifecycle.add_note(incident, by=responder, message="Rolled back release 2026.12.01")
    note = page.locator("#timeline ol.piquet-timeline li.timeline-note")
    note.wait_for(timeout=20_000)
    assert "Rolled back release 2026.12.01" in note.inner_text()
    assert page.evaluate("window.piquetNotReloaded") is True
