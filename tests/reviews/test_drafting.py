"""The review is drafted from the record when a major incident is resolved."""

import datetime as dt

import pytest
import time_machine

from incidents import checklist, lifecycle
from incidents.models import Severity, SeverityDefinition
from reviews import drafting, export
from reviews.models import Review
from tests.reviews.conftest import T0, trigger

pytestmark = pytest.mark.django_db


def test_resolving_a_sev1_drafts_its_review_starting_with_the_deployment_the_trigger_and_the_ack(
    resolved_incident,
):
    review = Review.objects.get(incident=resolved_incident)
    record = review.record
    assert [d["version"] for d in record["deployments"]] == ["v42"]  # the 30-hour-old one is out of the window
    assert record["deployments"][0]["minutes_before"] == 30
    kinds = [entry["kind"] for entry in record["entries"]]
    assert kinds[0] == "triggered"
    assert "acknowledged" in kinds and kinds[-1] == "resolved"
    assert review.impact_started_at == T0
    assert review.impact_ended_at == T0 + dt.timedelta(minutes=40)
    assert record["impact"]["duration_seconds"] == 40 * 60
    markdown = review.record_markdown
    assert markdown.index("v42") < markdown.index("**Triggered**") < markdown.index("**Acknowledged**")
    assert "2026-11-27 14:30 UTC" in markdown
    assert "40 min" in markdown
    assert "v-ancient" not in markdown


def test_the_follower_is_idempotent_one_review_per_incident(resolved_incident):
    first = Review.objects.get(incident=resolved_incident)
    assert drafting.create_for(resolved_incident.pk) == first
    review, created = drafting.start(resolved_incident)
    assert (review, created) == (first, False)
    assert Review.objects.count() == 1


def test_a_sev4_is_not_reviewed_unless_someone_asks(client, integration, responder, run_tasks):
    with run_tasks():
        incident = trigger(client, integration, severity="info", dedup_key="typo")
    assert incident.severity == Severity.SEV4
    with run_tasks():
        lifecycle.resolve(incident, by=responder)
    assert not Review.objects.exists()
    review, created = drafting.start(incident, by=responder)
    assert created and review.created_by == responder


def test_the_severity_definition_decides_and_the_severity_history_is_kept(client, integration, responder, run_tasks):
    SeverityDefinition.objects.filter(severity=Severity.SEV3).update(requires_review=True)
    with time_machine.travel(T0, tick=False), run_tasks():
        incident = trigger(client, integration, severity="info", dedup_key="slow")
    with time_machine.travel(T0 + dt.timedelta(minutes=3), tick=False), run_tasks():
        lifecycle.change_severity(incident, severity=Severity.SEV3, reason="more customers affected", by=responder)
    with time_machine.travel(T0 + dt.timedelta(minutes=9), tick=False), run_tasks():
        lifecycle.resolve(incident, by=responder)
    review = Review.objects.get(incident=incident)
    assert len(review.record["severity_history"]) == 1
    assert "SEV3" in review.record["severity_history"][0]["text"]
    assert "Severity history" in review.record_markdown


def test_the_migration_made_sev1_and_sev2_require_a_review():
    required = dict(SeverityDefinition.objects.values_list("severity", "requires_review"))
    assert required == {"SEV1": True, "SEV2": True, "SEV3": False, "SEV4": False}
    assert SeverityDefinition.default(Severity.SEV2).requires_review
    assert not SeverityDefinition.default(Severity.SEV4).requires_review


def test_the_tasks_and_how_they_ended_carry_over_to_the_review(worked_incident, responder, run_tasks):
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        done = checklist.add(worked_incident, title="Roll back v42", by=responder)
        checklist.complete(done, by=responder)
        skipped = checklist.add(worked_incident, title="Call the vendor", by=responder)
        checklist.skip(skipped, reason="not their fault", by=responder)
        checklist.add(worked_incident, title="Write to customers", by=responder, required=True)
    with time_machine.travel(T0 + dt.timedelta(minutes=40), tick=False), run_tasks():
        lifecycle.resolve(worked_incident, by=responder)
    review = Review.objects.get(incident=worked_incident)
    assert [(row["title"], row["state"]) for row in review.record["tasks"]] == [
        ("Roll back v42", "done"),
        ("Call the vendor", "skipped"),
        ("Write to customers", "open"),
    ]
    markdown = export.as_markdown(review)
    assert "[x] Roll back v42 — done by Rita Responder at 2026-11-27 15:10 UTC" in markdown
    assert "[-] Call the vendor — skipped by Rita Responder at 2026-11-27 15:10 UTC: not their fault" in markdown
    assert "[ ] Write to customers — still open required" in markdown


def test_the_hourly_reminder_schedule_is_registered():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="reviews: remind overdue action items")
    assert schedule.func == "reviews.tasks.remind_overdue_action_items"
    assert schedule.schedule_type == Schedule.HOURLY
