"""Every admin page and every API read, walked as a Stakeholder, a Responder and a Manager: secrets and other
people's addresses reach Managers (and their owner) only."""

import re

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from comms.models import Delivery, StakeholderGroup, Subscriber
from incidents.models import Notification
from people.models import ContactMethod
from project.roles import NOTE_PERMISSION, PLUMBING_APPS, RECORDS, ROLE_NAMES, STAKEHOLDERS, permissions_for
from rotations.models import CalendarFeed, Schedule
from tests.factories import IncidentFactory, IntegrationFactory

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/services/T000/B000/hook-secret-token"
PRIVATE_EMAIL = "theo.private@example.com"
PARTNER = "partner.secret@example.com"


@pytest.fixture
def world(service, teammate, responder):
    integration = IntegrationFactory(service=service, name="Prometheus")
    hook = ContactMethod.objects.create(user=teammate, kind="webhook", address=HOOK)
    ContactMethod.objects.create(user=teammate, kind="email", address=PRIVATE_EMAIL)
    group = StakeholderGroup.objects.create(name="Customers")
    group.services.add(service)
    subscriber = Subscriber.objects.create(group=group, kind="email", address=PARTNER)
    schedule = Schedule.objects.create(name="Platform", time_zone="Europe/Zurich")
    feed = CalendarFeed.objects.create(user=teammate)
    incident = IncidentFactory(service=service)
    Notification.objects.create(
        incident=incident,
        user=teammate,
        contact_method=hook,
        due_at=incident.created_at,
        status="failed",
        error=f"HTTP 500 from {HOOK}",
        response="HTTP 500",
    )
    Delivery.objects.create(
        key="update:1",
        purpose="status_update",
        incident=incident,
        subscriber=subscriber,
        kind="email",
        address=PARTNER,
        error=f"550 {PARTNER} unknown",
    )
    secrets = {
        "integration key": integration.key,
        "webhook URL": HOOK,
        "webhook signing secret": hook.secret,
        "subscriber signing secret": subscriber.secret,
        "feed token": feed.token,
        "someone else's e-mail": PRIVATE_EMAIL,
        "subscriber address": PARTNER,
    }
    return {"service": service, "incident": incident, "schedule": schedule, "teammate": teammate, "secrets": secrets}


def admin_pages():
    """Every registered model's changelist, and the change page of its first object."""
    pages = []
    for model in admin.site._registry:
        meta = model._meta
        try:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        except NoReverseMatch:
            continue
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk]))
    return pages


def api_reads(api, world):
    """Every GET operation of the OpenAPI schema, with the world's ids in its path."""
    schema = api.get("/api/schema/?format=json").json()
    known = {
        "service_pk": world["service"].pk,
        "incident_pk": world["incident"].pk,
        "schedule_pk": world["schedule"].pk,
        "user_pk": world["teammate"].pk,
    }
    paths = []
    for path, operations in schema["paths"].items():
        if "get" not in operations or "{key}" in path or "{token}" in path or path.startswith("/api/schema"):
            continue
        filled = re.sub(r"\{(\w+)\}", lambda m: str(known.get(m.group(1), "{" + m.group(1) + "}")), path)
        if "{id}" in filled or "{number}" in filled:
            parent = filled.split("{", 1)[0]
            listing = api.get(parent)
            results = listing.json().get("results", []) if listing.status_code == 200 else []
            if not results or "id" not in results[0]:
                continue
            filled = re.sub(r"\{\w+\}", str(results[0]["id"]), filled)
        if "{" not in filled:
            paths.append(filled)
    return paths


@pytest.mark.parametrize("who", ["stakeholder", "responder"])
def test_no_secret_and_no_one_elses_address_reaches_the_other_roles(request, world, client, api_for, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    api = api_for(user)
    leaks = []
    for url in admin_pages():
        body = client.get(url).content.decode()
        leaks += [f"admin {url}: {name}" for name, secret in world["secrets"].items() if secret in body]
    reads = api_reads(api, world)
    assert len(reads) > 20  # the walk covers the API
    for url in reads:
        body = api.get(url).content.decode()
        leaks += [f"API {url}: {name}" for name, secret in world["secrets"].items() if secret in body]
    assert leaks == [], "\n".join(leaks)


def test_managers_see_what_they_need_to_configure(world, client, api_for, manager):
    client.force_login(manager)
    service = world["service"]
    integration = service.integrations.get()
    page = client.get(reverse("admin:incidents_integration_change", args=[integration.pk])).content.decode()
    assert integration.key in page
    listing = api_for(manager).get(f"/api/v1/services/{service.pk}/integrations/").json()
    assert listing["results"][0]["key"] == integration.key
    subscribers = client.get(reverse("admin:comms_subscriber_changelist")).content.decode()
    assert PARTNER in subscribers


def test_stakeholders_read_incidents_status_updates_and_who_leads_nothing_else():
    assert permissions_for(STAKEHOLDERS) == {
        ("incidents", "view_incident"),
        ("incidents", "view_incidentrole"),
        ("comms", "view_statusupdate"),
    }


def test_no_role_holds_a_table_permission_on_plumbing():
    for role in ROLE_NAMES:
        held = permissions_for(role)
        assert not [perm for perm in held if perm[0] in PLUMBING_APPS], role
        for (app_label, model), (readers, _managers_open) in RECORDS.items():
            table = {(app_label, f"{action}_{model}") for action in ("add", "change", "delete")} - {NOTE_PERMISSION}
            assert not held & table, (role, model)
            assert ((app_label, f"view_{model}") in held) == (role in readers), (role, model)
