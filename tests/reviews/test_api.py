"""The reviews API: the incident's review, its Markdown, the approval gate, action items, who may do what."""

import pytest

from people.models import Team, TeamMembership
from reviews.models import ActionItem, Review
from tests.factories import IncidentFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def review_url(incident):
    return f"/api/v1/incidents/{incident.pk}/review/"


def test_markdown_export_holds_the_record_and_the_action_items(resolved_incident, api_for, responder, teammate):
    api = api_for(responder)
    review = Review.objects.get(incident=resolved_incident)
    response = api.patch(
        review_url(resolved_incident),
        {"summary": "Checkout failed for 40 minutes.", "contributing_factors": "A config default changed."},
        format="json",
    )
    assert response.status_code == 200, response.json()
    created = api.post(
        "/api/v1/action-items/",
        {
            "review": review.pk,
            "title": "Alert on checkout error rate",
            "owner": teammate.pk,
            "due": "2026-12-15",
            "ticket_url": "https://tracker.example.com/OPS-7",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "open"
    markdown = api.get(f"/api/v1/incidents/{resolved_incident.pk}/review.md")
    assert markdown.status_code == 200
    assert markdown["Content-Type"].startswith("text/markdown")
    text = markdown.content.decode()
    for expected in ("v42", "Triggered", "Acknowledged", "Checkout failed for 40 minutes.", "Alert on checkout"):
        assert expected in text
    assert "OPS-7" in text and "Théo Teammate" in text


def test_publishing_needs_every_reviewers_approval_or_a_manager(
    resolved_incident, api_for, responder, teammate, manager
):
    api = api_for(responder)
    url = review_url(resolved_incident)
    review = Review.objects.get(incident=resolved_incident)
    assert api.patch(url, {"reviewers": [teammate.pk, manager.pk]}, format="json").status_code == 200
    # Approving a draft is refused: it is not in review yet.
    assert api_for(teammate).post(f"/api/v1/reviews/{review.pk}/approve/").status_code == 400
    assert api.patch(url, {"state": "in_review"}, format="json").json()["state"] == "in_review"
    refused = api.patch(url, {"state": "published"}, format="json")
    assert refused.status_code == 400
    assert "approve" in refused.json()["state"][0]
    # Someone who was not named cannot approve.
    assert api.post(f"/api/v1/reviews/{review.pk}/approve/").status_code == 403
    assert api_for(teammate).post(f"/api/v1/reviews/{review.pk}/approve/").status_code == 200
    # The text changes in review: what the teammate approved is gone, they approve again.
    edited = api.patch(url, {"lessons": "Defaults are configuration too."}, format="json").json()
    assert not any(a["approved_at"] for a in edited["approvals"])
    assert api_for(teammate).post(f"/api/v1/reviews/{review.pk}/approve/").status_code == 200
    assert api.patch(url, {"state": "published"}, format="json").status_code == 400  # the manager has not approved
    assert api_for(manager).post(f"/api/v1/reviews/{review.pk}/approve/").status_code == 200
    published = api.patch(url, {"state": "published"}, format="json")
    assert published.status_code == 200 and published.json()["state"] == "published"
    assert all(a["approved_at"] for a in published.json()["approvals"])
    # A published review's text is final.
    assert api.patch(url, {"summary": "rewritten"}, format="json").status_code == 400


def test_a_manager_publishes_without_approvals(resolved_incident, api_for, manager):
    api = api_for(manager)
    url = review_url(resolved_incident)
    api.patch(url, {"state": "in_review"}, format="json")
    assert api.patch(url, {"state": "published"}, format="json").json()["state"] == "published"
    assert api.patch(url, {"state": "draft"}, format="json").status_code == 400  # published is final


def test_a_review_by_hand_and_bad_input(api_for, responder, service, teammate):
    incident = IncidentFactory(service=service, severity="SEV4")
    api = api_for(responder)
    assert api.get(review_url(incident)).status_code == 404
    assert api.post(review_url(incident)).status_code == 201
    assert api.post(review_url(incident)).status_code == 200  # once
    assert api.patch(review_url(incident), {"state": "bogus"}, format="json").status_code == 400
    assert api.patch(review_url(incident), {"reviewers": [999999]}, format="json").status_code == 400
    assert api.patch(review_url(incident), {"contributing_deployments": [999999]}, format="json").status_code == 400
    review = Review.objects.get(incident=incident)
    bad_items = [
        {"review": review.pk, "title": "x", "owner": teammate.pk, "due": "2026-13-01"},
        {"review": review.pk, "title": "x", "owner": teammate.pk, "due": "2026-12-01", "ticket_url": "ftp://x.example"},
        {"review": review.pk, "title": "x", "owner": teammate.pk, "due": "2026-12-01", "status": "maybe"},
        {"review": review.pk, "title": "x", "owner": teammate.pk, "due": "9999-12-31"},
        {"review": 10**30, "title": "x", "owner": teammate.pk, "due": "2026-12-01"},
    ]
    for body in bad_items:
        assert api.post("/api/v1/action-items/", body, format="json").status_code == 400, body
    for query in ("owner=abc", "status=later", "overdue=perhaps", "team=x"):
        assert api.get(f"/api/v1/action-items/?{query}").status_code == 400, query
    assert api.get("/api/v1/reviews/?state=nope").status_code == 400
    assert api.get("/api/v1/incidents/99999999999999999999999/review/").status_code == 404


def test_lists_filter_and_cost_constant_queries(api_for, responder, teammate, service, django_assert_max_num_queries):
    other = ServiceFactory(name="Billing", slug="billing")
    api = api_for(responder)
    for index in range(6):
        incident = IncidentFactory(service=service if index % 2 else other)
        review = api.post(review_url(incident)).json()
        api.post(
            "/api/v1/action-items/",
            {"review": review["id"], "title": f"Item {index}", "owner": teammate.pk, "due": "2020-01-01"},
            format="json",
        )
    with django_assert_max_num_queries(8):
        reviews = api.get("/api/v1/reviews/?service=website&state=draft").json()
    assert reviews["count"] == 3
    with django_assert_max_num_queries(8):
        items = api.get(f"/api/v1/action-items/?owner={teammate.pk}&status=open&service=billing").json()
    assert items["count"] == 3 and all(item["overdue"] for item in items["results"])
    assert api.get("/api/v1/action-items/?overdue=false").json()["count"] == 0
    item = ActionItem.objects.first()
    assert api.patch(f"/api/v1/action-items/{item.pk}/", {"status": "done"}, format="json").json()["done_at"]


def test_role_matrix(resolved_incident, api_for, responder, manager, stakeholder, outsider):
    url = review_url(resolved_incident)
    # Stakeholders read no review (least privilege: the public summary reaches them on the status page).
    assert api_for(stakeholder).get(url).status_code == 403
    assert api_for(stakeholder).get("/api/v1/reviews/").status_code == 403
    assert api_for(stakeholder).get("/api/v1/action-items/").status_code == 403
    assert api_for(outsider).get(url).status_code == 403
    assert api_for(None).get(url).status_code == 401
    assert api_for(responder).get(url).status_code == 200
    assert api_for(manager).patch(url, {"lessons": "x"}, format="json").status_code == 200


def test_another_teams_incident_has_no_review_for_outsiders_of_the_team(api_for, responder, teammate):
    team = Team.objects.create(name="Payments", slug="payments")
    TeamMembership.objects.create(team=team, user=teammate)
    private = ServiceFactory(name="Payments", slug="payments", team=team)
    incident = IncidentFactory(service=private)
    assert api_for(teammate).post(review_url(incident)).status_code == 201
    assert api_for(responder).get(review_url(incident)).status_code == 404
    assert api_for(responder).post(review_url(incident)).status_code == 404
    assert api_for(responder).get("/api/v1/reviews/").json()["count"] == 0
    assert api_for(teammate).get("/api/v1/reviews/").json()["count"] == 1
    nobody = UserFactory(username="nina", roles=["Responders"])
    assert api_for(nobody).get(f"/api/v1/incidents/{incident.pk}/review.md").status_code == 404


BIG = 99_999_999_999_999_999_999_999


def test_out_of_range_ids_are_answered_like_unknown_ones(api_for, manager, service):
    api = api_for(manager)
    api.raise_request_exception = False
    incident = IncidentFactory(service=service)
    review = api.post(review_url(incident)).json()
    probes = [
        ("get", f"/api/v1/reviews/?service={BIG}&team={BIG}", None),
        ("get", f"/api/v1/reviews/{BIG}/", None),
        ("post", f"/api/v1/reviews/{BIG}/approve/", None),
        ("get", f"/api/v1/action-items/?owner={BIG}&service={BIG}&team={BIG}", None),
        ("post", "/api/v1/action-items/", {"review": BIG, "title": "t", "owner": BIG, "due": "2026-12-01"}),
        ("patch", review_url(incident), {"reviewers": [BIG], "contributing_deployments": [BIG]}),
        ("get", f"/api/v1/incidents/{BIG}/review.md", None),
    ]
    for method, url, body in probes:
        response = getattr(api, method)(url, body, format="json") if body else getattr(api, method)(url)
        assert response.status_code < 500, (url, response.status_code)
    assert review["state"] == "draft"
