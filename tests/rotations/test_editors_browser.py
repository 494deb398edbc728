"""The layer editors in a real browser (Debian's Chromium): pickers for hours, people picked and reordered, and
the picture on the viewer's own clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from people.models import Profile
from rotations.models import Layer
from tests.rotations.factories import LayerFactory, ScheduleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def new_page(chromium):
    context = chromium.new_context(locale="en-GB", timezone_id="Asia/Tokyo")  # the browser's zone must not matter
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page, live_url, user):
    page.goto(live_url + reverse("admin:login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "secret-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(live_url + reverse("admin:index"))


@pytest.fixture
def layer(people):
    schedule = ScheduleFactory(name="Platform", time_zone="Europe/Zurich")
    monday = timezone.now().replace(hour=7, minute=0, second=0, microsecond=0, tzinfo=UTC)
    monday -= timedelta(days=monday.weekday())
    return LayerFactory(
        schedule=schedule, name="Primary", rotation_start=monday, shift_unit="days", participants=people[:2]
    )


def test_a_new_york_manager_adds_office_hours_with_the_pickers_and_reads_the_picture_in_new_york(
    chromium, live_url, manager, layer
):
    Profile.objects.create(user=manager, time_zone="America/New_York")
    page = new_page(chromium)
    log_in(page, live_url, manager)
    page.goto(live_url + reverse("admin:rotations_schedule_change", args=[layer.schedule_id]))

    editor = page.locator("#id_layers-0-restrictions")
    assert editor.locator(".piquet-row-list .piquet-row").count() == 1  # the blank row
    assert editor.locator(".piquet-row:visible").count() == 1  # the row to copy stays out of sight
    editor.locator(".piquet-add-row").click()
    assert editor.locator(".piquet-row:visible").count() == 2
    row = editor.locator(".piquet-row-list .piquet-row").nth(1)
    row.locator("select.piquet-first-day").select_option("mon")
    row.locator("select.piquet-last-day").select_option("fri")
    row.locator("input.piquet-start").fill("09:00")
    row.locator("input.piquet-end").fill("17:30")
    assert row.locator(".piquet-row-number").inner_text() == "2."
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    layer.refresh_from_db()
    assert layer.restrictions == [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:30"}]
    assert page.locator(".piquet-timeline-zone strong").inner_text() == "America/New_York"
    first_tick = page.locator(".piquet-timeline-grid .tick").first.get_attribute("data-at")
    midnight = datetime.fromisoformat(first_tick).astimezone(ZoneInfo("America/New_York"))
    assert (midnight.hour, midnight.minute) == (0, 0)
    # The saved row comes back as pickers, not as JSON.
    saved = page.locator("#id_layers-0-restrictions .piquet-row-list .piquet-row").first
    assert saved.locator("select.piquet-first-day").input_value() == "mon"
    assert saved.locator("input.piquet-end").input_value() == "17:30"

    page.click("a.piquet-span-week")
    page.wait_for_url("**span=week**")
    page.click("a.piquet-next")
    page.wait_for_url("**start=**")
    title = page.locator("#piquet-timeline-title").inner_text()
    assert title.startswith("Week of Mon")
    assert page.locator(".piquet-timeline-zone strong").inner_text() == "America/New_York"


def test_people_are_picked_from_the_list_and_reordered(chromium, live_url, manager, layer, people):
    _ann, ben, cat, _dan = people
    page = new_page(chromium)
    log_in(page, live_url, manager)
    page.goto(live_url + reverse("admin:rotations_layer_change", args=[layer.pk]))

    editor = page.locator("#id_participants")
    editor.locator(".piquet-add-row").click()
    editor.locator(".piquet-row-list .piquet-row").nth(2).locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("cat")
    page.locator(".select2-results__option", has_text="cat").click()
    editor.locator(".piquet-row-list .piquet-row").nth(2).locator(".piquet-move-up").click()
    editor.locator(".piquet-row-list .piquet-row").nth(0).locator(".piquet-remove-row").click()
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    assert Layer.objects.get(pk=layer.pk).participant_ids() == [cat.pk, ben.pk]
