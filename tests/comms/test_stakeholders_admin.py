"""Roles through the API and the admin; the incident page's stakeholder panel; the stakeholder admin."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse

from comms import status_updates
from comms.models import Delivery, StakeholderGroup, StatusUpdate, Subscriber
from incidents.models import IncidentRole, SeverityDefinition, TimelineEntry
from tests.comms.conftest import add_subscriber
from tests.factories import IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def roles_url(incident):
    return f"/api/v1/incidents/{incident.pk}/roles/"


def test_assigning_roles_is_on_the_timeline_and_tells_the_person(api_for, responder, teammate, sev1, run_tasks):
    client = api_for(responder)
    with run_tasks():
        response = client.post(roles_url(sev1), {"role": "commander", "user": teammate.pk}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["user"]["username"] == "theo"
    assert response.json()["assigned_by"]["username"] == "rita"
    assert [m.to for m in mail.outbox] == [[teammate.email]]
    assert "you are the Incident commander" in mail.outbox[0].subject
    assert sev1.url in mail.outbox[0].body

    with run_tasks():
        client.post(roles_url(sev1), {"role": "commander", "user": teammate.pk}, format="json")
        client.post(roles_url(sev1), {"role": "commander", "user": responder.pk}, format="json")
        client.post(roles_url(sev1), {"role": "scribe", "user": teammate.pk}, format="json")

    messages = [entry.text for entry in TimelineEntry.objects.filter(incident=sev1, kind="role")]
    assert messages == [
        "Théo Teammate is now Incident commander.",
        "Rita Responder is now Incident commander, taking over from Théo Teammate.",
        "Théo Teammate is now Scribe.",
    ]
    assert len(mail.outbox) == 3
    listed = client.get(roles_url(sev1)).json()
    assert {(r["role"], r["user"]["username"]) for r in listed} == {("commander", "rita"), ("scribe", "theo")}


@pytest.mark.parametrize(("body", "field"), [({"role": "boss", "user": 1}, "role"), ({"role": "scribe"}, "user")])
def test_bad_role_assignment_is_a_400_naming_the_field(api_for, responder, sev1, body, field):
    response = api_for(responder).post(roles_url(sev1), body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_only_responders_assign_roles(api_for, stakeholder, teammate, sev1):
    body = {"role": "commander", "user": teammate.pk}
    assert api_for(stakeholder).post(roles_url(sev1), body, format="json").status_code == 403
    assert api_for(stakeholder).get(roles_url(sev1)).status_code == 200
    assert api_for(None).get(roles_url(sev1)).status_code in (401, 403)


# --- the incident page -----------------------------------------------------------------------


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def test_incident_page_assigns_roles_and_posts_updates_with_phase_templates(
    client, responder, teammate, customers, sev1, run_tasks
):
    add_subscriber(customers, Subscriber.Kind.EMAIL, "partner@example.com")
    client.force_login(responder)

    page = client.get(change_url(sev1) + "?phase=identified")
    html = page.content.decode()
    assert 'id="roles"' in html and 'id="stakeholders"' in html
    assert "Required by the severity and not filled: Incident commander, Communications lead" in html
    assert "We have identified the cause of the problem affecting Website" in html

    response = client.post(
        reverse("admin:incidents_incident_role", args=[sev1.pk]), {"role": "commander", "user": teammate.pk}
    )
    assert response.status_code == 302
    assert IncidentRole.objects.get(incident=sev1, role="commander").user == teammate

    with run_tasks():
        response = client.post(
            reverse("admin:incidents_incident_status_update", args=[sev1.pk]),
            {"phase": "identified", "message": "Rolling back.", "public": "on", "eta_minutes": "45"},
        )
    assert response.status_code == 302
    update = StatusUpdate.objects.get(incident=sev1)
    assert update.public and update.eta is not None and update.author == responder
    assert [m.to for m in mail.outbox if "Rolling back." in m.body] == [["partner@example.com"]]

    html = client.get(change_url(sev1)).content.decode()
    assert "Next update due in 29 min" in html or "Next update due in 30 min" in html
    assert "p…@example.com" in html and "partner@example.com" not in html  # a responder sees it concealed
    assert "Sent" in html


def test_overdue_update_is_shown_in_red(client, responder, sev1):
    with time_machine.travel(sev1.created_at, tick=False):
        status_updates.first_notice(sev1.pk)
    client.force_login(responder)
    with time_machine.travel(sev1.created_at + dt.timedelta(minutes=42), tick=False):
        html = client.get(change_url(sev1)).content.decode()
    assert 'class="piquet-due overdue" id="update-due"' in html
    assert "Next update overdue by 12 min" in html


def test_bad_admin_update_is_refused_with_a_message(client, responder, sev1):
    client.force_login(responder)
    response = client.post(
        reverse("admin:incidents_incident_status_update", args=[sev1.pk]), {"phase": "nope", "message": ""}, follow=True
    )
    assert not StatusUpdate.objects.exists()
    text = response.content.decode()
    assert "Phase:" in text and "Message:" in text


def test_stakeholders_cannot_post_from_the_admin(client, stakeholder, sev1):
    client.force_login(stakeholder)
    url = reverse("admin:incidents_incident_status_update", args=[sev1.pk])
    assert client.post(url, {"phase": "identified", "message": "x"}).status_code == 403
    assert client.get(url).status_code == 405


# --- the stakeholder admin ---------------------------------------------------------------------


def test_group_page_previews_each_channel(client, manager, customers):
    add_subscriber(customers, Subscriber.Kind.WEBHOOK, "https://hooks.example.com/x")
    client.force_login(manager)
    html = client.get(reverse("admin:comms_stakeholdergroup_change", args=[customers.pk])).content.decode()
    assert html.count('class="channel-preview"') == 2 * len(settings.LANGUAGES) + 1
    assert "[Website] Example: checkout answers 502 — Identified" in html
    assert "[Website] Example: checkout answers 502 — Cause identifiée" in html
    assert "&quot;event&quot;: &quot;incident.status_update&quot;" in html


def test_manager_edits_a_severity_definition(client, manager):
    client.force_login(manager)
    sev2 = SeverityDefinition.objects.get(severity="SEV2")
    response = client.post(
        reverse("admin:incidents_severitydefinition_change", args=[sev2.pk]),
        {
            "severity": "SEV2",
            "description": "SEV2: checkout is slow",
            "inform_stakeholders": "on",
            "update_cadence_minutes": "45",
            "required_roles": ["commander", "scribe"],
        },
    )
    assert response.status_code == 302
    sev2.refresh_from_db()
    assert sev2.update_cadence_minutes == 45 and sev2.required_roles == ["commander", "scribe"]


@pytest.mark.parametrize("count", [2, 10])
def test_stakeholder_changelists_have_constant_queries(
    client, manager, service, api_for, run_tasks, count, django_assert_max_num_queries
):
    client.force_login(manager)
    for n in range(count):
        group = StakeholderGroup.objects.create(name=f"Group {n}")
        group.services.add(service, ServiceFactory())
        add_subscriber(group, Subscriber.Kind.EMAIL, f"s{n}@example.com")
        incident = IncidentFactory(service=service, severity="SEV2")
        with run_tasks():
            status_updates.post(incident, phase="investigating", message=f"Update {n}")
    assert Delivery.objects.count() >= count
    for name in ("stakeholdergroup", "subscriber", "statusupdate", "delivery", "messagetemplate"):
        with django_assert_max_num_queries(13):
            response = client.get(reverse(f"admin:comms_{name}_changelist"))
        assert response.status_code == 200, name
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:incidents_incidentrole_changelist")).status_code == 200


@pytest.mark.parametrize("count", [2, 12])
def test_role_and_update_lists_have_constant_queries(api_for, responder, sev1, count, django_assert_max_num_queries):
    from incidents import roles
    from tests.factories import UserFactory

    for n in range(count):
        status_updates.post(sev1, phase="investigating", message=f"Update {n}", by=responder)
        roles.assign(sev1, role=("commander", "communications", "scribe")[n % 3], user=UserFactory(), by=responder)
    client = api_for(responder)
    with django_assert_max_num_queries(8):
        assert len(client.get(f"/api/v1/incidents/{sev1.pk}/status-updates/").json()["results"]) == count
    with django_assert_max_num_queries(8):
        assert len(client.get(roles_url(sev1)).json()) == min(count, 3)


def test_stakeholders_read_the_incident_page_without_the_forms(client, stakeholder, sev1):
    status_updates.post(sev1, phase="investigating", message="Looking into it.")
    client.force_login(stakeholder)
    html = client.get(change_url(sev1)).content.decode()
    assert "Looking into it." in html
    assert 'id="status-update-form"' not in html and 'id="role-form"' not in html
