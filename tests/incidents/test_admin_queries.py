"""Admin changelists of paging and ingestion records issue the same number of queries at any row count."""

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import Alert, Notification, Page
from people.models import ContactMethod, NotificationRule
from rotations.models import EscalationPolicy, EscalationStep, Schedule
from tests.factories import IncidentFactory, IntegrationFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "/admin/incidents/integration/",
    "/admin/incidents/alert/",
    "/admin/incidents/timelineentry/",
    "/admin/incidents/notification/",
    "/admin/people/contactmethod/",
    "/admin/people/notificationrule/",
    "/admin/rotations/escalationpolicy/",
    "/admin/auth/user/",
]


def seed(count):
    schedule = Schedule.objects.create(name=f"Schedule {Schedule.objects.count()}", time_zone="Europe/Zurich")
    for _ in range(count):
        user = UserFactory()
        method = ContactMethod.objects.create(user=user, kind="email", address=f"{user.username}@example.com")
        NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)
        integration = IntegrationFactory()
        incident = IncidentFactory(service=integration.service)
        Alert.objects.create(integration=integration, incident=incident, dedup_key=incident.dedup_key, action="trigger")
        page = Page.objects.create(incident=incident, round=0, step=0, user=user)
        Notification.objects.create(
            incident=incident, page=page, user=user, contact_method=method, due_at=timezone.now(), round=0, step=0
        )
        policy = EscalationPolicy.objects.create(name=f"Policy {EscalationPolicy.objects.count()}")
        step = EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5)
        step.users.add(user)
        step.schedules.add(schedule)


@pytest.mark.parametrize("url", CHANGELISTS)
def test_changelist_queries_do_not_grow_with_rows(admin_user, url, django_assert_max_num_queries):
    client = Client()
    client.force_login(admin_user)
    seed(2)
    with django_assert_max_num_queries(50) as few:
        assert client.get(url).status_code == 200
    baseline = len(few.captured_queries)
    seed(15)
    with django_assert_max_num_queries(baseline):
        assert client.get(url).status_code == 200
