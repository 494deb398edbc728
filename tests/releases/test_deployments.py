"""Recording deployments (API and PagerDuty change events), flagging them, and "what changed?"."""

from datetime import UTC, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.conf import Conf

from incidents.models import Incident, TimelineEntry
from releases import deployments, tasks
from releases.models import Deployment
from tests.conftest import run_follow_ups
from tests.factories import IncidentFactory, ServiceFactory, UserFactory
from tests.releases.factories import DeploymentFactory, FreezeExceptionFactory, ReleaseWindowFactory
from worker import followups

pytestmark = pytest.mark.django_db
URL = "/api/v1/releases/deployments/"
ZURICH = ZoneInfo("Europe/Zurich")
FRIDAY_3PM = "2026-11-27T15:00:00+01:00"


@pytest.fixture
def sync_tasks():
    with mock.patch.object(Conf, "SYNC", True):
        yield


def deploy_body(**extra):
    return {
        "service": "website",
        "version": "2.4.1",
        "environment": "production",
        "url": "https://ci.example.com/pipelines/42",
        "actor": "gitlab-ci",
        **extra,
    }


def test_manager_records_an_allowed_deployment(api_for, manager, service):
    response = api_for(manager).post(URL, deploy_body(at="2026-11-26T10:00:00+01:00"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["decision"] == "allowed"
    assert body["flagged"] is False
    assert body["at"] == "2026-11-26T10:00:00+01:00"
    deployment = Deployment.objects.get()
    assert deployment.user == manager
    assert deployment.version == "2.4.1"


def test_integration_key_records_for_its_service(client, integration):
    response = client.post(
        URL, deploy_body(), content_type="application/json", HTTP_AUTHORIZATION=f"Token {integration.key}"
    )
    assert response.status_code == 201, response.json()
    deployment = Deployment.objects.get()
    assert deployment.integration == integration
    assert deployment.user is None
    assert deployment.source == "integration"


def test_integration_key_needs_no_service_and_cannot_name_another(client, integration):
    ServiceFactory(slug="billing")
    ok = client.post(URL, {"version": "1"}, content_type="application/json", HTTP_X_ROUTING_KEY=integration.key)
    assert ok.status_code == 201
    assert ok.json()["service"] == "website"
    other = client.post(
        URL, deploy_body(service="billing"), content_type="application/json", HTTP_X_ROUTING_KEY=integration.key
    )
    assert other.status_code == 403


def test_responder_cannot_record_with_a_user_token(api_for, responder, service):
    assert api_for(responder).post(URL, deploy_body(), format="json").status_code == 403


def test_deploy_through_a_freeze_is_flagged_and_managers_are_told(
    api_for, manager, service, sync_tasks, django_capture_on_commit_callbacks
):
    ReleaseWindowFactory(name="Weekend freeze")
    UserFactory(username="boss", email="boss@example.com", roles=["Managers"])
    UserFactory(username="dev", email="dev@example.com", roles=["Responders"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(manager).post(URL, deploy_body(at=FRIDAY_3PM), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["decision"] == "blocked"
    assert body["flagged"] is True
    assert body["reasons"][0]["name"] == "Weekend freeze"
    # One message per manager, through the delivery transports.
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@example.com", "mona@example.com"]
    message = mail.outbox[0]
    assert "Website 2.4.1" in message.subject
    assert "Weekend freeze" in message.body
    assert Deployment.objects.get().managers_notified_at is not None


def test_flag_notification_runs_once(service, manager):
    deployment = DeploymentFactory(service=service, decision="blocked", flagged=True, reasons=[])
    assert tasks.notify_flagged_deployment(deployment.pk) == 1
    assert tasks.notify_flagged_deployment(deployment.pk) == 0
    assert len(mail.outbox) == 1


def test_unflagged_deployment_tells_nobody(service, manager):
    deployment = DeploymentFactory(service=service)
    assert tasks.notify_flagged_deployment(deployment.pk) == 0
    assert mail.outbox == []


def test_deploy_with_an_exception_is_on_the_record_and_not_flagged(api_for, manager, service):
    ReleaseWindowFactory()
    exception = FreezeExceptionFactory(
        services=[service],
        approved_by=manager,
        starts_at=datetime(2026, 11, 27, 14, 0, tzinfo=ZURICH),
        ends_at=datetime(2026, 11, 27, 16, 0, tzinfo=ZURICH),
    )
    body = api_for(manager).post(URL, deploy_body(at=FRIDAY_3PM), format="json").json()
    assert body["decision"] == "exception"
    assert body["exception"] == exception.pk
    assert body["flagged"] is False
    assert exception.deployments.count() == 1


def test_fix_deploy_during_a_major_incident_is_allowed(api_for, manager, service):
    incident = IncidentFactory(service=service, severity="SEV1")
    body = api_for(manager).post(URL, deploy_body(incident=incident.number), format="json").json()
    assert body["decision"] == "allowed"
    assert body["fixes_incident"] == incident.number


@pytest.mark.parametrize(
    "body,field",
    [
        (deploy_body(service="nope"), "service"),
        (deploy_body(url="not a url"), "url"),
        (deploy_body(at="yesterday"), "at"),
        (deploy_body(version="v" * 201), "version"),
        ({"version": "1"}, "service"),
        (deploy_body(incident=99999), "incident"),
    ],
)
def test_bad_deployment_is_400_naming_the_field(api_for, manager, service, body, field):
    response = api_for(manager).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()


def test_deployment_list_filters_and_has_a_constant_number_of_queries(
    api_for, responder, service, django_assert_max_num_queries
):
    DeploymentFactory(service=service, decision="blocked", flagged=True)
    client = api_for(responder)
    with django_assert_max_num_queries(6):
        assert client.get(URL).status_code == 200
    for _ in range(12):
        DeploymentFactory(service=ServiceFactory())
    with django_assert_max_num_queries(6):
        assert client.get(URL).json()["count"] == 13
    assert client.get(URL, {"flagged": "1"}).json()["count"] == 1
    assert client.get(URL, {"service": "website"}).json()["count"] == 1
    assert client.get(URL, {"decision": "allowed"}).json()["count"] == 12


def change_event(integration, **payload):
    return {
        "routing_key": integration.key,
        "payload": {
            "summary": "Deployed website 2.5.0",
            "timestamp": "2026-11-27T14:00:00Z",
            "source": "github-actions",
            "custom_details": {"version": "2.5.0", "environment": "production"},
            **payload,
        },
        "links": [{"href": "https://github.com/acme/website/actions/runs/1", "text": "Run"}],
    }


def test_pagerduty_change_event_records_a_deployment(client, integration):
    ReleaseWindowFactory()
    response = client.post("/v2/change/enqueue", change_event(integration), content_type="application/json")
    assert response.status_code == 202, response.json()
    assert response.json() == {"status": "success", "message": "Change event processed"}
    deployment = Deployment.objects.get()
    assert deployment.service == integration.service
    assert deployment.version == "2.5.0"
    assert deployment.environment == "production"
    assert deployment.actor == "github-actions"
    assert deployment.url == "https://github.com/acme/website/actions/runs/1"
    assert deployment.deployed_at == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    assert deployment.decision == "blocked"
    assert deployment.source == "change_event"


def test_change_event_without_details_uses_the_summary(client, integration):
    body = {"routing_key": integration.key, "payload": {"summary": "Release 7"}}
    assert client.post("/v2/change/enqueue", body, content_type="application/json").status_code == 202
    assert Deployment.objects.get().version == "Release 7"


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda b: b.pop("payload"), "payload"),
        (lambda b: b["payload"].pop("summary"), "payload.summary"),
        (lambda b: b["payload"].update(timestamp="noon"), "payload.timestamp"),
        (lambda b: b.update(links="x"), "links"),
        (lambda b: b["payload"].update(custom_details=[1]), "custom_details"),
    ],
)
def test_bad_change_event_is_400_naming_the_field(client, integration, mutate, needle):
    body = change_event(integration)
    mutate(body)
    response = client.post("/v2/change/enqueue", body, content_type="application/json")
    assert response.status_code == 400
    assert any(needle in error for error in response.json()["errors"])
    assert not Deployment.objects.exists()


def test_change_event_with_unknown_key_or_bad_json(client, service):
    response = client.post("/v2/change/enqueue", {"routing_key": "x" * 32}, content_type="application/json")
    assert response.status_code == 400
    assert client.post("/v2/change/enqueue", "{", content_type="application/json").status_code == 400


def test_incident_timeline_lists_the_deployments_of_the_two_hours_before(service):
    now = timezone.now()
    DeploymentFactory(service=service, version="old", deployed_at=now - timedelta(hours=3))
    DeploymentFactory(service=service, version="2.4.0", deployed_at=now - timedelta(minutes=90))
    DeploymentFactory(service=service, version="2.4.1", deployed_at=now - timedelta(minutes=10))
    DeploymentFactory(service=ServiceFactory(), version="other", deployed_at=now - timedelta(minutes=5))
    incident = IncidentFactory(service=service)
    assert deployments.add_recent_deployments(incident.pk) == 2
    assert deployments.add_recent_deployments(incident.pk) == 0
    entry = TimelineEntry.objects.get(incident=incident, kind="deployments")
    assert entry.actor_name == "Piquet"
    assert "2.4.1" in entry.text and "2.4.0" in entry.text
    assert "old" not in entry.text and "other" not in entry.text
    assert [d["version"] for d in entry.data["deployments"]] == ["2.4.1", "2.4.0"]


def test_no_recent_deployment_writes_nothing(service):
    incident = IncidentFactory(service=service)
    assert deployments.add_recent_deployments(incident.pk) == 0
    assert deployments.add_recent_deployments(Incident.objects.count() + 1000) == 0
    assert not TimelineEntry.objects.filter(kind="deployments").exists()


def test_trigger_through_the_events_api_enqueues_the_timeline_follow_up(
    client, integration, django_capture_on_commit_callbacks
):
    DeploymentFactory(service=integration.service, version="9.9.8", deployed_at=timezone.now() - timedelta(minutes=3))
    with mock.patch("django_q.tasks.async_task") as enqueue, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/v2/enqueue",
            {
                "routing_key": integration.key,
                "event_action": "trigger",
                "payload": {"summary": "Down", "source": "x", "severity": "critical"},
            },
            content_type="application/json",
        )
    assert response.status_code == 202
    assert not TimelineEntry.objects.filter(kind="deployments").exists()
    # The worker's ticker finds the incident's event and hands it to the follow-up task.
    enqueue.reset_mock()
    with mock.patch("django_q.tasks.async_task") as enqueue:
        assert followups.hand_out() == 1
    assert [call.args[0] for call in enqueue.call_args_list] == [followups.TASK]
    for call in enqueue.call_args_list:
        import_string(call.args[0])(*call.args[1:])
    assert "9.9.8" in TimelineEntry.objects.get(kind="deployments").text


def test_trigger_runs_the_timeline_task_for_real(client, integration, sync_tasks, django_capture_on_commit_callbacks):
    DeploymentFactory(service=integration.service, version="9.9.9", deployed_at=timezone.now() - timedelta(minutes=3))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/v2/enqueue",
            {
                "routing_key": integration.key,
                "event_action": "trigger",
                "payload": {"summary": "Down", "source": "x", "severity": "critical"},
            },
            content_type="application/json",
        )
    run_follow_ups()
    entry = TimelineEntry.objects.get(kind="deployments")
    assert "9.9.9" in entry.text
