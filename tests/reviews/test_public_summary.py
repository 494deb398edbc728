"""A published review's public summary is on the status page (and its JSON); never before, never internal text."""

import pytest

from comms import status_updates
from comms.models import Phase
from reviews.models import Review

pytestmark = pytest.mark.django_db

SUMMARY = "A configuration change stopped checkouts for 40 minutes; changes to it are now checked before release."
INTERNAL = "The config default on host db-7 flipped"


@pytest.fixture
def public_incident(resolved_incident, responder, run_tasks):
    with run_tasks():
        status_updates.post(resolved_incident, phase=Phase.RESOLVED, message="Checkout works again.", by=responder)
    return resolved_incident


def pages(client, incident):
    index = client.get("/status/").content.decode()
    detail = client.get(f"/status/incidents/{incident.number}/").content.decode()
    api = client.get("/api/v1/status/").json()
    [resolved] = [i for i in api["recently_resolved"] if i["number"] == incident.number]
    return index, detail, resolved


def test_the_summary_shows_once_the_review_is_published_and_not_before(public_incident, api_for, manager, client):
    url = f"/api/v1/incidents/{public_incident.pk}/review/"
    api = api_for(manager)
    api.patch(url, {"public_summary": SUMMARY, "contributing_factors": INTERNAL}, format="json")
    index, detail, resolved = pages(client, public_incident)
    assert "Post-incident summary" not in index and "Post-incident summary" not in detail
    assert resolved["post_incident_summary"] is None

    api.patch(url, {"state": "in_review"}, format="json")
    assert api.patch(url, {"state": "published"}, format="json").status_code == 200
    index, detail, resolved = pages(client, public_incident)
    for page in (index, detail):
        assert "Post-incident summary" in page and "checked before release" in page
        assert INTERNAL not in page
    assert "checked before release" in resolved["post_incident_summary"]
    assert INTERNAL not in str(resolved)

    # Changed after publishing: the page follows; emptied: it goes.
    api.patch(url, {"public_summary": "Checkouts failed; fixed."}, format="json")
    assert "Checkouts failed; fixed." in client.get(f"/status/incidents/{public_incident.number}/").content.decode()
    api.patch(url, {"public_summary": ""}, format="json")
    assert "Post-incident summary" not in client.get(f"/status/incidents/{public_incident.number}/").content.decode()


def test_a_published_review_without_public_summary_adds_nothing(public_incident, api_for, manager, client):
    url = f"/api/v1/incidents/{public_incident.pk}/review/"
    api = api_for(manager)
    api.patch(url, {"state": "in_review"}, format="json")
    api.patch(url, {"state": "published"}, format="json")
    assert Review.objects.get().is_published
    _index, detail, resolved = pages(client, public_incident)
    assert "Post-incident summary" not in detail and resolved["post_incident_summary"] is None


def test_the_summary_is_sanitised(public_incident, api_for, manager, client):
    url = f"/api/v1/incidents/{public_incident.pk}/review/"
    api = api_for(manager)
    api.patch(url, {"public_summary": "Fixed <script>alert(1)</script> **now**"}, format="json")
    api.patch(url, {"state": "in_review"}, format="json")
    api.patch(url, {"state": "published"}, format="json")
    detail = client.get(f"/status/incidents/{public_incident.number}/").content.decode()
    assert "<script>alert(1)</script>" not in detail
    assert "<strong>now</strong>" in detail


def test_deleting_a_published_review_takes_its_summary_off_the_status_page(public_incident, api_for, manager, client):
    from django.urls import reverse

    url = f"/api/v1/incidents/{public_incident.pk}/review/"
    api = api_for(manager)
    api.patch(url, {"public_summary": SUMMARY}, format="json")
    api.patch(url, {"state": "in_review"}, format="json")
    api.patch(url, {"state": "published"}, format="json")
    page = f"/status/incidents/{public_incident.number}/"
    assert "Post-incident summary" in client.get(page).content.decode()
    review = Review.objects.get()
    admin = type(client)()
    admin.force_login(manager)
    response = admin.post(reverse("admin:reviews_review_delete", args=[review.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Review.objects.exists()
    assert "Post-incident summary" not in client.get(page).content.decode()
