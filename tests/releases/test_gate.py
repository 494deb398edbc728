"""The release gate over HTTP: windows, incidents, exceptions, auth and bad input."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from incidents import lifecycle
from releases import gate
from releases.models import ReleaseWindow
from tests.factories import IncidentFactory, IntegrationFactory, ServiceFactory, UserFactory
from tests.releases.factories import FreezeExceptionFactory, ReleaseWindowFactory

pytestmark = pytest.mark.django_db
ZURICH = ZoneInfo("Europe/Zurich")
URL = "/api/v1/releases/gate/"

FRIDAY_3PM = "2026-11-27T15:00:00+01:00"
THURSDAY_10AM = "2026-11-26T10:00:00+01:00"


def ask(client, **params):
    return client.get(URL, params)


@pytest.fixture
def ci(api_for, responder):
    return api_for(responder)


@pytest.fixture
def weekend(service):
    return ReleaseWindowFactory(
        name="Weekend freeze", start_cron="0 12 * * 5", end_cron="0 8 * * 1", message="Not on weekends."
    )


def test_no_window_means_allowed(ci, service):
    response = ask(ci, service="website", at=FRIDAY_3PM)
    assert response.status_code == 200
    assert response.json() == {
        "service": "website",
        "at": FRIDAY_3PM,
        "allowed": True,
        "reasons": [],
        "warnings": [],
        "exception": None,
        "next_allowed_at": None,
        "fixes_incident": None,
    }


def test_friday_afternoon_is_blocked_by_the_weekend_freeze(ci, weekend):
    body = ask(ci, service="website", at=FRIDAY_3PM).json()
    assert body["allowed"] is False
    assert body["reasons"] == [
        {
            "kind": "window",
            "name": "Weekend freeze",
            "message": "Not on weekends.",
            "until": "2026-11-30T08:00:00+01:00",
        }
    ]
    assert body["next_allowed_at"] == "2026-11-30T08:00:00+01:00"


def test_strict_answers_423_when_blocked_and_200_when_allowed(ci, weekend):
    assert ask(ci, service="website", at=FRIDAY_3PM, strict=1).status_code == 423
    assert ask(ci, service="website", at=THURSDAY_10AM, strict=1).status_code == 200


def test_without_at_the_gate_answers_for_now(ci, weekend):
    with time_machine.travel(datetime(2026, 11, 28, 10, 0, tzinfo=ZURICH), tick=False):
        body = ask(ci, service="website").json()
    assert body["allowed"] is False
    assert body["at"] == "2026-11-28T10:00:00+01:00"


def test_window_for_another_service_does_not_apply(ci, service):
    ReleaseWindowFactory(services=[ServiceFactory(slug="billing")])
    assert ask(ci, service="website", at=FRIDAY_3PM).json()["allowed"] is True
    assert ask(ci, service="billing", at=FRIDAY_3PM).json()["allowed"] is False


def test_disabled_window_does_not_apply(ci, service):
    ReleaseWindowFactory(enabled=False)
    assert ask(ci, service="website", at=FRIDAY_3PM).json()["allowed"] is True


def test_environment_restricted_window_applies_only_to_that_environment(ci, service):
    ReleaseWindowFactory(environments="production")
    assert ask(ci, service="website", at=FRIDAY_3PM, environment="staging").json()["allowed"] is True
    assert ask(ci, service="website", at=FRIDAY_3PM, environment="production").json()["allowed"] is False


def test_outside_every_release_window_is_blocked_until_the_next_opens(ci, service):
    ReleaseWindowFactory(
        name="Office hours", kind="allow", start_cron="0 9 * * 1-5", end_cron="0 17 * * 1-5", message=""
    )
    body = ask(ci, service="website", at="2026-11-26T18:00:00+01:00").json()
    assert body["allowed"] is False
    assert body["reasons"][0]["kind"] == "outside_allow"
    assert body["reasons"][0]["name"] == "Office hours"
    assert body["reasons"][0]["until"] == "2026-11-27T09:00:00+01:00"
    assert "Office hours" in body["reasons"][0]["message"]
    assert ask(ci, service="website", at=THURSDAY_10AM).json()["allowed"] is True


def test_hard_freeze_wins_over_an_overlapping_release_window(ci, weekend):
    ReleaseWindowFactory(name="Office hours", kind="allow", start_cron="0 9 * * 1-5", end_cron="0 17 * * 1-5")
    body = ask(ci, service="website", at=FRIDAY_3PM).json()
    assert body["allowed"] is False
    assert [r["kind"] for r in body["reasons"]] == ["window"]
    assert body["next_allowed_at"] == "2026-11-30T09:00:00+01:00"


def test_next_allowed_at_skips_freezes_chained_across_the_weekend(ci, weekend):
    ReleaseWindowFactory(name="Evening freeze", start_cron="0 16 * * 1-4", end_cron="0 8 * * 2-5")
    body = ask(ci, service="website", at="2026-11-26T17:00:00+01:00").json()
    assert body["next_allowed_at"] == "2026-11-27T08:00:00+01:00"


def test_soft_freeze_only_warns(ci, service):
    ReleaseWindowFactory(name="Quiet Friday", enforcement="soft", message="Think twice.")
    body = ask(ci, service="website", at=FRIDAY_3PM, strict=1)
    assert body.status_code == 200
    assert body.json()["allowed"] is True
    assert body.json()["warnings"][0]["name"] == "Quiet Friday"
    assert body.json()["warnings"][0]["message"] == "Think twice."


def test_soft_release_window_warns_outside_and_hard_freeze_still_blocks(ci, weekend):
    ReleaseWindowFactory(
        name="Mornings", kind="allow", enforcement="soft", start_cron="0 8 * * *", end_cron="0 12 * * *"
    )
    afternoon = ask(ci, service="website", at=THURSDAY_10AM.replace("10:00", "14:00")).json()
    assert afternoon["allowed"] is True
    assert afternoon["warnings"][0]["kind"] == "outside_allow"
    saturday = ask(ci, service="website", at="2026-11-28T09:00:00+01:00").json()
    assert saturday["allowed"] is False
    assert saturday["warnings"] == []


def test_holiday_freeze_blocks_the_national_day(ci, service):
    ReleaseWindowFactory(
        name="Swiss holidays", start_cron="", end_cron="", holiday_country="CH", holiday_subdivision="ZH"
    )
    body = ask(ci, service="website", at="2026-08-01T10:00:00+02:00").json()
    assert body["allowed"] is False
    assert body["reasons"][0]["until"] == "2026-08-02T00:00:00+02:00"


def test_gate_honours_dst_in_march(ci, weekend):
    assert ask(ci, service="website", at="2026-03-30T07:59:00+02:00").json()["allowed"] is False
    assert ask(ci, service="website", at="2026-03-30T08:00:00+02:00").json()["allowed"] is True


def test_gate_honours_dst_in_october(ci, weekend):
    assert ask(ci, service="website", at="2026-10-26T07:59:00+01:00").json()["allowed"] is False
    assert ask(ci, service="website", at="2026-10-26T08:00:00+01:00").json()["allowed"] is True


def test_open_major_incident_blocks_and_its_fix_may_go_out(ci, service):
    incident = IncidentFactory(service=service, severity="SEV1", title="Checkout down")
    blocked = ask(ci, service="website", at=THURSDAY_10AM).json()
    assert blocked["allowed"] is False
    assert blocked["reasons"][0]["kind"] == "incident"
    assert blocked["reasons"][0]["name"] == f"#{incident.number} Checkout down"
    assert blocked["next_allowed_at"] is None
    fix = ask(ci, service="website", at=THURSDAY_10AM, incident=incident.number).json()
    assert fix["allowed"] is True
    assert fix["fixes_incident"] == incident.number


def test_fix_deploy_escapes_only_its_own_incident(ci, service):
    first = IncidentFactory(service=service, severity="SEV1")
    second = IncidentFactory(service=service, severity="SEV2")
    body = ask(ci, service="website", incident=first.number).json()
    assert body["allowed"] is False
    assert [r["name"].split()[0] for r in body["reasons"]] == [f"#{second.number}"]


def test_minor_or_resolved_incidents_do_not_block(ci, service, responder):
    IncidentFactory(service=service, severity="SEV3")
    major = IncidentFactory(service=service, severity="SEV1")
    lifecycle.resolve(major, by=responder)
    assert ask(ci, service="website").json()["allowed"] is True


def test_frozen_severities_are_configurable(ci, service, settings):
    settings.PIQUET_FREEZE_SEVERITIES = ["SEV1", "SEV2", "SEV3"]
    IncidentFactory(service=service, severity="SEV3")
    assert ask(ci, service="website").json()["allowed"] is False


def test_approved_current_exception_turns_a_block_into_an_allow(ci, weekend, service, manager):
    requester = UserFactory(username="dev")
    exception = FreezeExceptionFactory(
        services=[service],
        requested_by=requester,
        approved_by=manager,
        approved_at=timezone.now(),
        starts_at=datetime(2026, 11, 27, 14, 0, tzinfo=ZURICH),
        ends_at=datetime(2026, 11, 27, 18, 0, tzinfo=ZURICH),
    )
    body = ask(ci, service="website", at=FRIDAY_3PM).json()
    assert body["allowed"] is True
    assert body["reasons"][0]["name"] == "Weekend freeze"
    assert body["exception"]["id"] == exception.pk
    assert body["exception"]["approved_by"] == "mona"
    assert body["exception"]["requested_by"] == "dev"
    assert ask(ci, service="website", at="2026-11-27T18:00:00+01:00").json()["allowed"] is False


def test_unapproved_or_expired_or_foreign_exceptions_do_not_count(ci, weekend, service, manager):
    FreezeExceptionFactory(services=[service], approved_by=None, starts_at=timezone.now() - timedelta(days=1))
    FreezeExceptionFactory(
        services=[service],
        approved_by=manager,
        starts_at=datetime(2026, 11, 27, 13, 0, tzinfo=ZURICH),
        ends_at=datetime(2026, 11, 27, 14, 0, tzinfo=ZURICH),
    )
    FreezeExceptionFactory(
        services=[ServiceFactory()],
        approved_by=manager,
        starts_at=datetime(2026, 11, 27, 13, 0, tzinfo=ZURICH),
        ends_at=datetime(2026, 11, 27, 18, 0, tzinfo=ZURICH),
    )
    body = ask(ci, service="website", at=FRIDAY_3PM).json()
    assert body["allowed"] is False
    assert body["exception"] is None


def test_exception_also_lifts_an_incident_freeze(ci, service, manager):
    IncidentFactory(service=service, severity="SEV1")
    FreezeExceptionFactory(services=[service], approved_by=manager)
    body = ask(ci, service="website").json()
    assert body["allowed"] is True
    assert body["reasons"][0]["kind"] == "incident"


@pytest.mark.parametrize(
    "params,field",
    [
        ({}, "service"),
        ({"service": "nope"}, "service"),
        ({"service": "website", "at": "friday"}, "at"),
        ({"service": "website", "at": "2026-13-01T10:00"}, "at"),
        ({"service": "website", "at": "0001-01-01T00:00:00Z"}, "at"),
        ({"service": "website", "at": "9999-12-31T23:59:59Z"}, "at"),
        ({"service": "website", "incident": "abc"}, "incident"),
        ({"service": "website", "incident": "999999"}, "incident"),
        ({"service": "website", "strict": "maybe"}, "strict"),
    ],
)
def test_bad_input_is_400_naming_the_field(ci, service, params, field):
    response = ask(ci, **params)
    assert response.status_code == 400
    assert field in response.json()


def test_incident_of_another_service_is_400(ci, service):
    other = IncidentFactory(service=ServiceFactory(), severity="SEV1")
    response = ask(ci, service="website", incident=other.number)
    assert response.status_code == 400
    assert "incident" in response.json()


def test_unencoded_plus_in_at_is_understood(client, ci, weekend):
    response = ci.get(URL + "?service=website&at=2026-11-27T15:00:00+01:00")
    assert response.status_code == 200
    assert response.json()["at"] == FRIDAY_3PM


def test_naive_at_in_the_spring_gap_is_the_first_instant_after_it(ci, service):
    body = ask(ci, service="website", at="2026-03-29T02:30:00").json()
    assert body["at"] == "2026-03-29T03:00:00+02:00"


def test_naive_at_is_local_time(ci, weekend):
    assert ask(ci, service="website", at="2026-11-27T11:30").json()["allowed"] is True
    assert ask(ci, service="website", at="2026-11-27T12:30").json()["allowed"] is False


def test_anonymous_is_401(client, service):
    assert client.get(URL, {"service": "website"}).status_code == 401


def test_user_without_role_is_403(api_for, outsider, service):
    assert api_for(outsider).get(URL, {"service": "website"}).status_code == 403


@pytest.mark.parametrize("how", ["authorization", "header", "query"])
def test_integration_key_authenticates_for_its_service(client, integration, weekend, how):
    if how == "authorization":
        response = client.get(URL, {"at": FRIDAY_3PM}, HTTP_AUTHORIZATION=f"Token {integration.key}")
    elif how == "header":
        response = client.get(URL, {"at": FRIDAY_3PM}, HTTP_X_ROUTING_KEY=integration.key)
    else:
        response = client.get(URL, {"at": FRIDAY_3PM, "routing_key": integration.key})
    assert response.status_code == 200
    assert response.json()["service"] == "website"
    assert response.json()["allowed"] is False


def test_integration_key_cannot_ask_about_another_service(client, integration):
    ServiceFactory(slug="billing")
    response = client.get(URL, {"service": "billing"}, HTTP_X_ROUTING_KEY=integration.key)
    assert response.status_code == 403
    assert "website" in response.json()["detail"]


def test_unknown_or_disabled_integration_key_is_401(client, service):
    assert client.get(URL, {"routing_key": "0" * 32}).status_code == 401
    disabled = IntegrationFactory(service=service, enabled=False)
    response = client.get(URL, HTTP_X_ROUTING_KEY=disabled.key)
    assert response.status_code == 401
    assert "disabled" in response.json()["detail"]


def test_gate_queries_do_not_grow_with_windows(ci, service, django_assert_max_num_queries):
    for n in range(3):
        ReleaseWindowFactory(services=[service], name=f"w{n}")
    with django_assert_max_num_queries(8):
        assert ask(ci, service="website", at=FRIDAY_3PM).status_code == 200
    for n in range(30):
        ReleaseWindowFactory(services=[service, ServiceFactory()], name=f"more{n}", start_cron=f"{n} 9 * * *")
    with django_assert_max_num_queries(8):
        assert ask(ci, service="website", at=FRIDAY_3PM).status_code == 200


def test_window_edit_is_seen_at_once(ci, weekend):
    assert ask(ci, service="website", at=FRIDAY_3PM).json()["allowed"] is False
    weekend.start_cron = "0 18 * * 5"
    weekend.save()
    assert ask(ci, service="website", at=FRIDAY_3PM).json()["allowed"] is True


def test_decide_is_usable_without_http(service, weekend):
    decision = gate.decide(service=service, at=datetime(2026, 11, 27, 15, 0, tzinfo=ZURICH))
    assert not decision.allowed
    assert decision.reasons[0].kind == "window"
    assert ReleaseWindow.objects.for_service(service).count() == 1


def test_next_allowed_at_after_a_long_one_off_freeze(ci, service):
    ReleaseWindowFactory(
        name="Year-end",
        start_cron="",
        end_cron="",
        starts_at=datetime(2026, 12, 18, 12, 0, tzinfo=ZURICH),
        ends_at=datetime(2027, 1, 11, 8, 0, tzinfo=ZURICH),
    )
    body = ask(ci, service="website", at="2026-12-20T10:00:00+01:00").json()
    assert body["reasons"][0]["until"] == "2027-01-11T08:00:00+01:00"
    assert body["next_allowed_at"] == "2027-01-11T08:00:00+01:00"


def test_next_allowed_at_is_null_beyond_five_weeks(ci, service):
    ReleaseWindowFactory(
        name="Migration",
        start_cron="",
        end_cron="",
        starts_at=datetime(2026, 11, 1, tzinfo=ZURICH),
        ends_at=datetime(2027, 3, 1, tzinfo=ZURICH),
    )
    body = ask(ci, service="website", at=FRIDAY_3PM).json()
    assert body["allowed"] is False
    assert body["next_allowed_at"] is None


def test_the_incident_freeze_follows_a_severity_change(ci, service, responder):
    incident = IncidentFactory(service=service, severity="SEV3", title="Cosmetic glitch")
    assert ask(ci, service="website", at=THURSDAY_10AM).json()["allowed"] is True
    lifecycle.change_severity(incident, severity="SEV1", reason="Checkout fails for everyone", by=responder)
    assert ask(ci, service="website", at=THURSDAY_10AM).json()["allowed"] is False
    lifecycle.change_severity(incident, severity="SEV3", reason="Only the footer is wrong", by=responder)
    assert ask(ci, service="website", at=THURSDAY_10AM).json()["allowed"] is True
