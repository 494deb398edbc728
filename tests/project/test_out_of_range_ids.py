"""Ids too large for any database column are answered like unknown ids, never with a 500."""

import pytest

from rotations.models import Schedule

pytestmark = pytest.mark.django_db
BIG = 99_999_999_999_999_999_999_999


def test_out_of_range_ids_never_cause_a_server_error(api_for, manager, service):
    schedule = Schedule.objects.create(name="S", time_zone="UTC")
    api = api_for(manager)
    api.raise_request_exception = False
    day = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    probes = [
        ("get", f"/api/v1/incidents/?service={BIG}", None),
        ("get", f"/api/v1/incidents/{BIG}/", None),
        ("post", "/api/v1/incidents/", {"service": str(BIG), "title": "x"}),
        ("post", f"/api/v1/schedules/{schedule.pk}/overrides/", {"user": BIG, **day}),
        (
            "post",
            f"/api/v1/schedules/{schedule.pk}/layers/",
            {
                "name": "l",
                "rotation_start": day["start"],
                "shift_length": 1,
                "shift_unit": "days",
                "participants": [BIG],
            },
        ),
        ("patch", f"/api/v1/services/{service.pk}/", {"escalation_policy": BIG}),
        ("post", f"/api/v1/users/{manager.pk}/notification-rules/", {"contact_method": BIG}),
        ("get", f"/api/v1/users/{BIG}/contact-methods/", None),
        ("get", f"/api/v1/releases/gate/?service={service.slug}&incident={BIG}", None),
        ("post", "/api/v1/stakeholder-groups/", {"name": "g", "services": [BIG], "members": [BIG]}),
        ("get", f"/status/incidents/{BIG}/", None),
        ("get", f"/api/v1/incidents/?page={BIG}", None),
    ]
    answers = {}
    for method, url, body in probes:
        call = getattr(api, method)
        response = call(url, body, format="json") if body is not None else call(url)
        answers[(method, url)] = response.status_code
    assert all(400 <= status < 500 or status == 200 for status in answers.values()), answers
    assert answers[("get", f"/api/v1/incidents/?service={BIG}")] == 200
    assert answers[("post", "/api/v1/incidents/")] == 400
