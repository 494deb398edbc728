"""A visitor reads the status page with a real browser (Debian's Chromium), on a phone-sized screen too."""

import datetime as dt

import pytest
from django.utils import timezone

from comms import status_updates
from comms.models import Subscriber
from tests.factories import IncidentFactory, ServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_visitor_reads_the_status_page_and_subscribes(chromium, live_url):
    website = ServiceFactory(name="Website", slug="website")
    ServiceFactory(name="Billing", slug="billing")
    incident = IncidentFactory(service=website, severity="SEV1", title="Checkout answers 502")
    status_updates.post(
        incident,
        phase="investigating",
        message="Looking into it.",
        public_title="Checkout errors",
        service_status="major_outage",
    )
    status_updates.post(
        incident,
        phase="identified",
        message="A bad deploy; rolling back. <script>document.title='owned'</script>",
        eta=timezone.now() + dt.timedelta(hours=1),
    )

    context = chromium.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    page.goto(live_url + "/status/")

    assert page.locator("#overall").inner_text() == "Major outage"
    assert page.title() == "Piquet status"
    card = page.locator(f"#incident-{incident.number}")
    assert "Checkout errors" in card.inner_text() and "Checkout answers 502" not in card.inner_text()
    updates = card.locator(".update")
    assert updates.count() == 2
    assert updates.nth(0).locator(".phase").inner_text() == "Identified"
    assert "<script>document.title='owned'</script>" in updates.nth(0).inner_text()
    assert card.locator("time.next-update").count() == 1
    assert card.locator("time.eta").count() == 1
    assert page.locator("#service-website .state").inner_text() == "Major outage"
    assert page.locator("#service-billing .state").inner_text() == "Operational"
    assert page.locator("#service-website ol.bars li").count() == 90

    page.get_by_role("link", name="Checkout errors").click()
    page.wait_for_url(f"**/status/incidents/{incident.number}/")
    assert page.locator("h1").inner_text() == "Checkout errors"

    page.fill("input[name=email]", "reader@example.com")
    page.get_by_role("button", name="Subscribe").click()
    assert page.locator("h1").inner_text() == "Check your inbox"
    assert Subscriber.objects.filter(address="reader@example.com", confirmed_at=None).exists()
    context.close()


def test_status_page_fits_a_phone_and_speaks_french(chromium, live_url):
    for n in range(8):
        ServiceFactory(name=f"Service with a rather long name number {n}", slug=f"s{n}")

    context = chromium.new_context(
        locale="fr-CH", viewport={"width": 360, "height": 740}, is_mobile=True, java_script_enabled=False
    )
    page = context.new_page()
    page.goto(live_url + "/status/")

    assert page.locator("#overall").inner_text() == "Tous les systèmes sont opérationnels"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    visible = page.locator("#service-s0 ol.bars li:visible").count()
    assert visible == 30
    context.close()
