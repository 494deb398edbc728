"""Freeze exceptions: requested by anyone with a role, approved by another manager, on the record."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from releases.models import FreezeException
from tests.factories import IncidentFactory, UserFactory
from tests.releases.factories import FreezeExceptionFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/releases/exceptions/"


def request_body(**extra):
    return {
        "services": ["website"],
        "reason": "Payment provider changes its API on Saturday",
        "starts_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "ends_at": (timezone.now() + timedelta(hours=2)).isoformat(),
        **extra,
    }


def test_responder_requests_and_a_manager_approves(api_for, responder, manager, service):
    response = api_for(responder).post(URL, request_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["requested_by"] == "rita"
    assert body["status"] == "pending"
    assert body["approved_by"] is None
    approved = api_for(manager).post(f"{URL}{body['id']}/approve/")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["approved_by"] == "mona"
    exception = FreezeException.objects.get()
    assert exception.approved_by == manager
    assert exception.approved_at is not None


def test_exception_for_an_incident(api_for, responder, service):
    incident = IncidentFactory(service=service, severity="SEV1")
    response = api_for(responder).post(URL, request_body(incident=incident.number), format="json")
    assert response.status_code == 201
    assert response.json()["incident"] == incident.number


def test_self_approval_is_refused(api_for, manager, service):
    created = api_for(manager).post(URL, request_body(), format="json").json()
    response = api_for(manager).post(f"{URL}{created['id']}/approve/")
    assert response.status_code == 403
    assert "own request" in response.json()["detail"]
    assert FreezeException.objects.get().approved_by is None


def test_self_approval_is_refused_by_the_database_too(manager, service):
    with pytest.raises(IntegrityError):
        FreezeExceptionFactory(services=[service], requested_by=manager, approved_by=manager)


def test_responder_cannot_approve(api_for, responder, teammate, service):
    created = api_for(responder).post(URL, request_body(), format="json").json()
    assert api_for(teammate).post(f"{URL}{created['id']}/approve/").status_code == 403


def test_expired_exception_cannot_be_approved(api_for, manager, service):
    exception = FreezeExceptionFactory(
        services=[service],
        starts_at=timezone.now() - timedelta(hours=3),
        ends_at=timezone.now() - timedelta(hours=1),
    )
    response = api_for(manager).post(f"{URL}{exception.pk}/approve/")
    assert response.status_code == 409
    assert "expired" in response.json()["detail"]
    assert api_for(manager).get(f"{URL}{exception.pk}/").json()["status"] == "expired"


def test_second_approval_is_a_conflict(api_for, manager, service):
    other_manager = UserFactory(username="max", roles=["Managers"])
    exception = FreezeExceptionFactory(services=[service])
    assert api_for(manager).post(f"{URL}{exception.pk}/approve/").status_code == 200
    assert api_for(other_manager).post(f"{URL}{exception.pk}/approve/").status_code == 409


def test_exceptions_cannot_be_deleted(api_for, manager, service):
    exception = FreezeExceptionFactory(services=[service])
    assert api_for(manager).delete(f"{URL}{exception.pk}/").status_code == 405


@pytest.mark.parametrize(
    "body,field",
    [
        (request_body(services=[]), "services"),
        (request_body(services=["nope"]), "services"),
        (request_body(reason=""), "reason"),
        (request_body(ends_at="tomorrow"), "ends_at"),
        (request_body(ends_at=(timezone.now() - timedelta(days=1)).isoformat()), "ends_at"),
        (request_body(incident=424242), "incident"),
    ],
)
def test_bad_request_is_400_naming_the_field(api_for, responder, service, body, field):
    response = api_for(responder).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()


def test_outsider_cannot_request(api_for, outsider, service):
    assert api_for(outsider).post(URL, request_body(), format="json").status_code == 403


def test_exception_list_has_a_constant_number_of_queries(api_for, manager, service, django_assert_max_num_queries):
    FreezeExceptionFactory(services=[service], approved_by=manager)
    client = api_for(manager)
    with django_assert_max_num_queries(6):
        assert client.get(URL).status_code == 200
    for _ in range(12):
        FreezeExceptionFactory(services=[service], approved_by=manager, requested_by=UserFactory())
    with django_assert_max_num_queries(6):
        assert client.get(URL).json()["count"] == 13
