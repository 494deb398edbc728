import pytest
from django.test import Client
from django.utils import timezone

from incidents import lifecycle
from incidents.models import Notification
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_admin_index_shows_managers_open_incidents_and_failed_deliveries(manager, responder, service):
    from people.models import ContactMethod

    first = IncidentFactory(service=service, title="Checkout down")
    second = IncidentFactory(service=service)
    lifecycle.acknowledge(second, by=responder)
    method = ContactMethod.objects.create(user=responder, kind="email", address="rita@example.com")
    Notification.objects.create(
        incident=first, user=responder, contact_method=method, status="failed", due_at=timezone.now(), error="boom"
    )
    client = Client()
    client.force_login(manager)
    page = client.get("/admin/").content.decode()
    dashboard = page[page.index('id="incident-dashboard"') :]
    assert '<td class="triggered-count"><strong style="color:#b91c1c">1</strong>' in dashboard
    assert '<td class="acknowledged-count"><strong>1</strong>' in dashboard
    assert '<td class="failed-count"><strong style="color:#b91c1c">1</strong>' in dashboard
    assert "Checkout down" in dashboard
    assert "boom" in dashboard


def test_dashboard_is_hidden_from_people_who_may_not_see_incidents(admin_client, outsider):
    outsider.is_staff = True
    outsider.save()
    client = Client()
    client.force_login(outsider)
    assert 'id="incident-dashboard"' not in client.get("/admin/").content.decode()


def test_the_managers_dashboard_is_not_shown_to_responders(responder, service):
    IncidentFactory(service=service, title="Checkout down")
    client = Client()
    client.force_login(responder)
    page = client.get("/admin/").content.decode()
    assert 'id="incident-dashboard"' not in page
    assert 'id="piquet-open-incidents"' in page and "Checkout down" in page
