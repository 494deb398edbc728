"""A responder opens the admin in a real browser (Debian's Chromium) and sees the open incidents first."""

import pytest
from django.urls import reverse

from incidents.models import Page
from tests.factories import IncidentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(15_000)
    return context.new_page()


def test_a_responder_lands_on_the_open_incidents_mine_first(responder, page, live_url, service):
    IncidentFactory(service=service, title="Search is slow", dedup_key="search-slow")
    mine = IncidentFactory(service=service, title="Checkout answers 502", dedup_key="checkout-502")
    Page.objects.create(incident=mine, round=0, step=0, user=responder)

    page.goto(live_url + reverse("admin:login"))
    page.fill("input[name=username]", responder.username)
    page.fill("input[name=password]", "secret-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(live_url + reverse("admin:index"))

    first_block = page.locator("#content-main > .module").first
    assert first_block.get_attribute("id") == "piquet-open-incidents"
    assert first_block.locator("caption").text_content().strip() == "Open incidents"  # CSS shows it in capitals
    rows = first_block.locator("tr.open-incident")
    assert rows.count() == 2
    assert "Checkout answers 502" in rows.nth(0).inner_text() and "yours" in rows.nth(0).inner_text()
    rows.nth(0).get_by_role("link").click()
    page.wait_for_url(live_url + reverse("admin:incidents_incident_change", args=[mine.pk]))
