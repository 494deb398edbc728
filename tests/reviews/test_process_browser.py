"""The written process in a real browser (Debian's Chromium): a responder works a SEV1 from the admin — the
play's checklist, a responder called in, tasks completed, the incident resolved, the review written, approved
and published — and the status page shows the review's public summary."""

import pytest
from django.urls import reverse

from incidents.models import Incident, IncidentRole, IncidentTask, Play, PlayTask, ResponderRequest
from reviews.models import Review
from tests.conftest import run_follow_ups

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def new_page(chromium):
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page, live_url, user):
    page.goto(live_url + reverse("admin:login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "secret-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(live_url + reverse("admin:index"))


def major_outage_play():
    play = Play.objects.create(name="Major outage", severities=["SEV1"], incident_types=[])
    for position, (title, required) in enumerate(
        [("Open the bridge", True), ("Roll back the last deploy", True), ("Tell support", False)], start=1
    ):
        PlayTask.objects.create(
            play=play,
            position=position,
            title=title,
            role=IncidentRole.Role.COMMANDER,
            due_minutes=15 * position,
            required=required,
        )
    return play


def test_a_responder_works_a_sev1_from_the_checklist_to_the_published_review(
    chromium, live_url, client, integration, responder, teammate, settings, run_tasks
):
    settings.PIQUET_BASE_URL = live_url
    major_outage_play()
    event = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": "checkout-down",
        "payload": {"summary": "Checkout is down", "source": "probe", "severity": "critical"},
    }
    with run_tasks():  # then the worker runs the plays that fit a new incident
        assert client.post("/v2/enqueue", event, content_type="application/json").status_code == 202
    incident = Incident.objects.get(dedup_key="checkout-down")
    assert incident.severity == "SEV1"
    assert IncidentTask.objects.filter(incident=incident).count() == 3

    page = new_page(chromium)
    log_in(page, live_url, responder)
    page.goto(live_url + reverse("admin:incidents_incident_change", args=[incident.pk]))

    # The checklist comes first on the page.
    content = page.locator("#content").inner_text()
    assert content.index("Checklist") < content.index("Responders")
    assert page.locator("#open-tasks tr.task-open").count() == 3

    # Call in a teammate with a message.
    page.select_option("#id_responders-users", str(teammate.pk))
    page.fill("#id_responders-message", "Checkout is down, can you look at the payment gateway?")
    page.click("#responders-form input[name=add_responders]")
    page.wait_for_selector("#content")
    asked = ResponderRequest.objects.get(incident=incident)
    assert asked.user == teammate and asked.state == ResponderRequest.State.PAGED
    assert "Théo Teammate" in page.locator("#content").inner_text()

    # Complete the bridge task, skip the support task; the rollback stays open.
    row = page.locator("tr.task-open", has_text="Open the bridge")
    row.locator("input[name=complete]").click()
    page.wait_for_selector("#closed-tasks")
    row = page.locator("tr.task-open", has_text="Tell support")
    row.locator("input[type=text]").fill("support already knows")
    row.locator("input[name=skip]").click()
    page.wait_for_selector("#closed-tasks tr.task-skipped")
    assert page.locator("#open-tasks tr.task-open").count() == 1

    # Tell the public (the status page shows an incident once a person posts a public update).
    page.select_option("#status-update-form [name=phase]", "identified")
    page.fill("#status-update-form [name=message]", "We are rolling back a configuration change.")
    page.check("#status-update-form [name=public]")
    page.click("#status-update-form [type=submit]")
    page.wait_for_selector("#content")
    assert incident.status_updates.filter(public=True).exists()

    # Resolving with a required task open asks first.
    page.click("input[name=resolve]")
    assert "Roll back the last deploy" in page.locator("#content").inner_text()
    incident.refresh_from_db()
    assert incident.status == "triggered"
    page.click("input[name=resolve][value='Yes, resolve']")
    page.wait_for_selector("#content")
    incident.refresh_from_db()
    assert incident.status == "resolved"
    states = dict(IncidentTask.objects.filter(incident=incident).values_list("title", "state"))
    assert states == {"Open the bridge": "done", "Roll back the last deploy": "open", "Tell support": "skipped"}

    with run_tasks():
        run_follow_ups()  # the worker drafts the review of a resolved SEV1
    review = Review.objects.get(incident=incident)
    page.goto(live_url + reverse("admin:reviews_review_change", args=[review.pk]))
    record = page.locator("#content").inner_text()
    assert "Checkout is down" in record and "Roll back the last deploy" in record

    # Write it, name a reviewer, and ask for the review.
    page.fill("textarea[name=summary]", "Checkout was down for everyone for 20 minutes.")
    page.fill("textarea[name=contributing_factors]", "What allowed it: a configuration change had no canary.")
    page.fill("textarea[name=public_summary]", "A configuration change stopped checkout; it was rolled back.")
    page.locator("#approvals-0 .select2-selection").click()  # the empty reviewer row, with the autocomplete
    page.fill(".select2-search__field", "theo")
    page.locator(".select2-results__option", has_text="Théo").first.click()
    page.click("input[name=_continue]")
    page.wait_for_selector("input[name=to_in_review]")
    page.click("input[name=to_in_review]")
    page.wait_for_selector("#content")
    review.refresh_from_db()
    assert review.state == "in_review"
    assert review.summary.startswith("Checkout was down")

    # The named reviewer approves; then the responder publishes.
    reviewer = new_page(chromium)
    log_in(reviewer, live_url, teammate)
    reviewer.goto(live_url + reverse("admin:reviews_review_change", args=[review.pk]))
    reviewer.click("input[name=approve]")
    reviewer.wait_for_selector("#content")
    page.goto(live_url + reverse("admin:reviews_review_change", args=[review.pk]))
    page.click("input[name=to_published]")
    page.wait_for_selector("#content")
    review.refresh_from_db()
    assert review.state == "published"

    # The public summary is on the status page, and nothing internal.
    page.goto(live_url + "/status/")
    status = page.locator("body").inner_text()
    assert "A configuration change stopped checkout; it was rolled back." in status
    assert "Checkout is down" not in status and "canary" not in status
