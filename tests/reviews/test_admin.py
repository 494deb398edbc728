"""The review in the admin: started from the incident page, written with blameless prompts, moved through its
states, printed, sanitised, and a contributing deployment turned into a release window draft."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from releases.models import ReleaseWindow
from reviews.models import ActionItem, Review
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def change_url(review):
    return reverse("admin:reviews_review_change", args=[review.pk])


def form_data(review, **values):
    data = {
        "summary": review.summary,
        "customer_impact": "",
        "contributing_factors": "",
        "went_well": "",
        "was_hard": "",
        "lessons": "",
        "public_summary": "",
        "approvals-TOTAL_FORMS": "0",
        "approvals-INITIAL_FORMS": "0",
        "action_items-TOTAL_FORMS": "0",
        "action_items-INITIAL_FORMS": "0",
    }
    data.update(values)
    return data


def test_a_responder_starts_a_review_from_the_incident_page(client, responder, service):
    incident = IncidentFactory(service=service, severity="SEV4")
    client.force_login(responder)
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert 'id="review-form"' in page and "Start the review" in page
    response = client.post(reverse("admin:incidents_incident_review", args=[incident.pk]))
    review = Review.objects.get(incident=incident)
    assert response.status_code == 302 and response["Location"] == change_url(review)
    assert client.get(reverse("admin:incidents_incident_review", args=[incident.pk])).status_code == 405
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert "Open the review" in page


def test_a_stakeholder_sees_no_review_panel_and_cannot_start_one(client, stakeholder, service):
    incident = IncidentFactory(service=service)
    client.force_login(stakeholder)
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert 'id="review"' not in page
    assert client.post(reverse("admin:incidents_incident_review", args=[incident.pk])).status_code == 403
    assert client.get(reverse("admin:reviews_review_changelist")).status_code == 403


def test_the_review_page_prompts_blamelessly_and_saves_sections_and_action_items(
    client, responder, teammate, resolved_incident
):
    review = Review.objects.get(incident=resolved_incident)
    client.force_login(responder)
    page = client.get(change_url(review)).content.decode()
    assert "What conditions allowed this to happen?" in page
    assert "v42" in page  # the record, shown read-only
    data = form_data(
        review,
        summary="Checkout failed.",
        **{
            "action_items-TOTAL_FORMS": "1",
            "action_items-0-title": "Check config defaults in CI",
            "action_items-0-owner": str(teammate.pk),
            "action_items-0-due": "2026-12-20",
            "action_items-0-ticket_url": "",
            "action_items-0-status": "open",
            "approvals-TOTAL_FORMS": "1",
            "approvals-0-reviewer": str(teammate.pk),
        },
    )
    response = client.post(change_url(review), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    review.refresh_from_db()
    assert review.summary == "Checkout failed."
    assert ActionItem.objects.get().owner == teammate
    assert list(review.reviewers.all()) == [teammate]
    bad = form_data(
        review,
        **{
            "action_items-TOTAL_FORMS": "2",
            "action_items-INITIAL_FORMS": "1",
            "action_items-0-id": str(ActionItem.objects.get().pk),
            "action_items-0-review": str(review.pk),
            "action_items-0-title": "Check config defaults in CI",
            "action_items-0-owner": str(teammate.pk),
            "action_items-0-due": "2026-12-20",
            "action_items-0-status": "open",
            "action_items-1-title": "Bad link",
            "action_items-1-owner": str(teammate.pk),
            "action_items-1-due": "2026-12-20",
            "action_items-1-ticket_url": "javascript:alert(1)",
            "action_items-1-status": "open",
        },
    )
    assert client.post(change_url(review), bad).status_code == 200  # the form again, with its error
    assert ActionItem.objects.count() == 1


def test_state_buttons_and_the_approval_gate(client, responder, teammate, resolved_incident):
    review = Review.objects.get(incident=resolved_incident)
    review.approvals.create(reviewer=teammate)
    state_url = reverse("admin:reviews_review_state", args=[review.pk])
    client.force_login(responder)
    client.post(state_url, {"state": "in_review"})
    client.post(state_url, {"state": "published"})
    review.refresh_from_db()
    assert review.state == "in_review"  # the reviewer has not approved
    client.force_login(teammate)
    assert "Approve" in client.get(change_url(review)).content.decode()
    client.post(reverse("admin:reviews_review_approve", args=[review.pk]))
    client.post(state_url, {"state": "published"})
    review.refresh_from_db()
    assert review.state == "published"
    page = client.get(change_url(review)).content.decode()
    assert 'name="summary"' not in page  # final: shown, no longer editable


def test_markdown_in_sections_is_sanitised_on_the_printable_page(client, responder, resolved_incident):
    review = Review.objects.get(incident=resolved_incident)
    Review.objects.filter(pk=review.pk).update(
        lessons="We **learnt** <script>alert('x')</script> <img src=x onerror=alert(1)> [link](javascript:alert(2))"
    )
    client.force_login(responder)
    response = client.get(reverse("admin:reviews_review_print", args=[review.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "@media print" in page
    assert "<strong>learnt</strong>" in page
    assert "<script>alert('x')</script>" not in page
    assert "onerror" not in page.replace("onerror=alert(1)&gt;", "")
    assert "javascript:alert(2)" not in page
    assert "v42" in page


def test_a_contributing_deployment_drafts_a_release_window(client, api_for, manager, resolved_incident):
    review = Review.objects.get(incident=resolved_incident)
    deployment = resolved_incident.deployment
    url = f"/api/v1/incidents/{resolved_incident.pk}/review/"
    patched = api_for(manager).patch(url, {"contributing_deployments": [deployment.pk]}, format="json")
    assert patched.json()["contributing_deployments"] == [deployment.pk]
    client.force_login(manager)
    page = client.get(change_url(review)).content.decode()
    assert "release-window-draft" in page
    start = page.index('class="button release-window-draft" href="') + len('class="button release-window-draft" href="')
    link = page[start : page.index('"', start)].replace("&amp;", "&")
    assert link.startswith(reverse("admin:releases_releasewindow_add"))
    fields = {key: values[0] for key, values in parse_qs(urlsplit(link).query, keep_blank_values=True).items()}
    # Deployed Friday 14:30 UTC = 15:30 in Zurich (the installation's zone): a Friday afternoon freeze.
    assert fields["start_cron"] == "0 12 * * 5" and fields["end_cron"] == "0 18 * * 5"
    assert fields["services"] == str(resolved_incident.service.pk)
    assert "Friday" in fields["name"] and "Website" in fields["name"]
    form = client.get(link).content.decode()
    assert "0 12 * * 5" in form and "Friday afternoons" in form
    response = client.post(
        reverse("admin:releases_releasewindow_add"),
        {**fields, "team": "", "environments": "", "holiday_country": "", "holiday_subdivision": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    window = ReleaseWindow.objects.get()
    assert window.kind == "deny" and not window.enabled  # the person turns it on once they agree
    assert list(window.services.all()) == [resolved_incident.service]


def test_only_deployments_of_the_record_can_contribute(api_for, manager, resolved_incident):
    from releases.deployments import record_deployment

    later, _decision = record_deployment(service=resolved_incident.service, version="v99", at=dt.datetime.now(dt.UTC))
    url = f"/api/v1/incidents/{resolved_incident.pk}/review/"
    response = api_for(manager).patch(url, {"contributing_deployments": [later.pk]}, format="json")
    assert response.status_code == 400


def test_action_item_list_filters_without_n_plus_one(client, manager, teammate, service, django_assert_max_num_queries):
    from reviews import drafting

    for index in range(5):
        review, _created = drafting.start(IncidentFactory(service=service))
        ActionItem.objects.create(review=review, title=f"Item {index}", owner=teammate, due=dt.date(2020, 1, 1))
    client.force_login(manager)
    url = reverse("admin:reviews_actionitem_changelist")
    with django_assert_max_num_queries(14):
        page = client.get(url + f"?overdue=yes&status=open&owner__id__exact={teammate.pk}").content.decode()
    assert page.count("Item ") >= 5
    assert client.get(reverse("admin:reviews_review_changelist") + "?state=draft").status_code == 200


def test_reviewers_and_owners_are_chosen_by_autocomplete_that_responders_may_use(
    client, responder, teammate, stakeholder, resolved_incident
):
    review = Review.objects.get(incident=resolved_incident)
    client.force_login(responder)
    page = client.get(change_url(review)).content.decode()
    people_url = reverse("admin:reviews_review_people")
    assert f'data-ajax--url="{people_url}"' in page
    found = client.get(people_url, {"term": "théo"}).json()
    assert found["results"] == [{"id": str(teammate.pk), "text": "Théo Teammate"}]
    assert client.get(people_url, {"term": "x", "page": "abc"}).status_code == 200
    client.force_login(stakeholder)
    assert client.get(people_url).status_code == 403
