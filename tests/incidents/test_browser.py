"""A responder works an incident in the admin with a real browser (Debian's Chromium)."""

import pytest
from django.urls import reverse

from incidents.models import Status
from tests.factories import IncidentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page, live_url, user):
    page.goto(live_url + reverse("admin:login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "secret-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(live_url + reverse("admin:index"))


def test_responder_acknowledges_an_incident_and_adds_a_note_seen_on_the_timeline(responder, page, live_url, service):
    incident = IncidentFactory(service=service, title="Checkout answers 502", dedup_key="checkout-502")

    log_in(page, live_url, responder)

    page.goto(live_url + reverse("admin:incidents_incident_changelist"))
    page.get_by_role("link", name="Checkout answers 502").click()
    page.wait_for_url(live_url + reverse("admin:incidents_incident_change", args=[incident.pk]))
    timeline = page.locator("#timeline ol.piquet-timeline")
    assert timeline.locator("li").count() == 1

    page.click("input[name=acknowledge]")
    page.wait_for_selector("#timeline ol.piquet-timeline li.timeline-acknowledged")
    assert page.locator("input[name=acknowledge]").count() == 0
    assert "Rita Responder" in timeline.locator("li.timeline-acknowledged").inner_text()

    page.fill("#note-form textarea[name=message]", "Rolled back release 2026.11.27; watching error rate.")
    page.click("#note-form input[name=add_note]")
    note = page.wait_for_selector("#timeline ol.piquet-timeline li.timeline-note")
    assert "Rolled back release 2026.11.27; watching error rate." in note.inner_text()
    assert "Rita Responder" in note.inner_text()

    kinds = [item.get_attribute("class") for item in timeline.locator("li").all()]
    assert kinds == ["timeline-triggered", "timeline-acknowledged", "timeline-note"]
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.acknowledged_by == responder
    assert incident.timeline.get(kind="note").actor == responder


def test_responder_lowers_the_severity_with_a_reason_seen_on_the_page(responder, page, live_url, service):
    incident = IncidentFactory(service=service, title="Search is slow", dedup_key="search-slow")
    reason = "Only search is slow; checkout works"

    log_in(page, live_url, responder)
    page.goto(live_url + reverse("admin:incidents_incident_change", args=[incident.pk]))
    form = page.locator("#severity-form")
    form.locator("select[name='change-severity']").select_option("SEV3")
    form.locator("input[name='change-reason']").fill(reason)
    form.locator("input[name=change_severity]").click()

    entry = page.wait_for_selector("#timeline ol.piquet-timeline li.timeline-severity")
    assert f"Severity changed from SEV2 to SEV3: {reason}" in entry.inner_text()
    assert "Rita Responder" in entry.inner_text()
    assert f"Incident #{incident.number} is now SEV3." in page.locator("ul.messagelist").inner_text()
    assert page.locator(".field-severity .readonly").inner_text().startswith("SEV3")
    assert page.locator("#severity-form select[name='change-severity']").input_value() == "SEV3"
    incident.refresh_from_db()
    assert incident.severity == "SEV3"
    recorded = incident.timeline.get(kind="severity")
    assert recorded.actor == responder
    assert recorded.data == {"from": "SEV2", "to": "SEV3", "reason": reason}
