"""The public status page, its Atom feed and JSON: states, updates, history, subscriptions."""

import datetime as dt
import re

import feedparser
import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from comms import status_updates
from comms.models import StatusUpdate, Subscriber
from incidents import lifecycle
from tests.factories import IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def visitor():
    """Nobody logged in."""
    return Client()


def publish(incident, message="We are on it.", phase="investigating", **kwargs):
    return status_updates.post(incident, phase=phase, message=message, **kwargs)


def test_status_page_is_public_and_shows_states_updates_next_update_and_eta(visitor, service):
    billing = ServiceFactory(name="Billing", slug="billing")
    ServiceFactory(name="Search", slug="search")
    down = IncidentFactory(service=service, severity="SEV1", title="Checkout answers 502")
    slow = IncidentFactory(service=billing, severity="SEV3", title="Invoices are late")
    IncidentFactory(service=billing, severity="SEV1", title="Internal only, no public update")
    publish(down, "First look.", service_status="major_outage")
    eta = timezone.now() + dt.timedelta(hours=3)
    latest = publish(down, "Rolled back the **release**.", phase="monitoring", eta=eta)
    publish(slow, "Queue is slow.", service_status="degraded_performance")
    publish(slow, "Secret internal detail", public=False)

    response = visitor.get("/status/")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="service-website".*?class="state major_outage">Major outage', html, re.S)
    assert re.search(r'id="service-billing".*?class="state degraded_performance">Degraded performance', html, re.S)
    assert re.search(r'id="service-search".*?class="state operational">Operational', html, re.S)
    assert 'class="banner major_outage"' in html
    assert html.index("Rolled back the <strong>release</strong>.") < html.index("First look.")
    assert "Secret internal detail" not in html
    assert "Internal only" not in html
    assert latest.next_update_at.isoformat()[:16] in html.replace(" ", "T") or "next-update" in html
    assert f'datetime="{timezone.localtime(eta).isoformat()}"' in html
    assert '<meta name="viewport"' in html
    assert "<script" not in html


def test_a_script_in_an_update_is_shown_as_text(visitor, service):
    incident = IncidentFactory(service=service, severity="SEV2", title="<img src=x onerror=alert(1)>")
    publish(incident, "<script>alert('x')</script> and [a link](javascript:alert(1))")

    html = visitor.get("/status/").content.decode()
    page = visitor.get(f"/status/incidents/{incident.number}/").content.decode()

    for body in (html, page):
        assert "<script>alert" not in body
        assert "&lt;script&gt;alert(" in body
        assert "<img src=x" not in body
        assert "javascript:" not in body


def test_incident_page_lists_public_updates_and_hides_private_incidents(visitor, service):
    public = IncidentFactory(service=service, severity="SEV2", title="Login fails")
    publish(public, "Investigating login.", public_title="Login fails")
    publish(public, "Fixed.", phase="resolved")
    lifecycle.resolve(public)
    private = IncidentFactory(service=service, severity="SEV2", title="Nobody was told")
    publish(private, "internal", public=False)

    page = visitor.get(f"/status/incidents/{public.number}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index("Fixed.") < body.index("Investigating login.")
    assert "Resolved" in body
    assert visitor.get(f"/status/incidents/{private.number}/").status_code == 404
    assert visitor.get("/status/incidents/999999/").status_code == 404
    index = visitor.get("/status/").content.decode()
    assert "Recently resolved" in index and "Login fails" in index


def test_status_page_speaks_french_by_accept_language(visitor, service):
    incident = IncidentFactory(service=service, severity="SEV1")
    publish(incident, "Nous regardons.", service_status="major_outage")

    html = visitor.get("/status/", HTTP_ACCEPT_LANGUAGE="fr-CH,fr;q=0.9").content.decode()

    assert '<html lang="fr">' in html
    assert "Panne majeure" in html
    assert "Incidents en cours" in html
    english = visitor.get("/status/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Major outage" in english and "Active incidents" in english


def test_json_status_matches_the_page(visitor, service):
    incident = IncidentFactory(service=service, severity="SEV2", title="Search is slow")
    eta = timezone.now() + dt.timedelta(hours=1)
    publish(incident, "Looking.", eta=eta, service_status="degraded_performance", public_title="Search is slow")

    data = visitor.get("/api/v1/status/").json()

    assert data["status"] == "degraded_performance"
    assert data["services"][0]["slug"] == "website" and data["services"][0]["status"] == "degraded_performance"
    [active] = data["incidents"]
    assert active["title"] == "Search is slow"
    assert active["eta"] == eta.isoformat()
    assert active["next_update_at"] is not None
    assert active["updates"][0]["message"] == "<p>Looking.</p>"
    assert active["url"].endswith(f"/status/incidents/{incident.number}/")


def test_feed_parses_and_matches_the_public_updates(visitor, service):
    incident = IncidentFactory(service=service, severity="SEV1", title="Checkout answers 502")
    first = publish(incident, "Looking into it.", public_title="Checkout errors")
    second = publish(incident, "Found the *bad* deploy.", phase="identified")
    publish(incident, "internal note", public=False)

    response = visitor.get("/status/feed/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert [e.title for e in feed.entries] == [
        "Website: Checkout errors — Identified",
        "Website: Checkout errors — Investigating",
    ]
    newest = feed.entries[0]
    assert newest.id == f"status-update-{second.pk}"
    assert "<em>bad</em>" in newest.summary
    assert newest.link.endswith(f"/status/incidents/{incident.number}/#update-{second.pk}")
    assert feed.entries[1].id == f"status-update-{first.pk}"
    assert "internal note" not in response.content.decode()


def test_visitor_subscribes_with_double_opt_in_and_unsubscribes_in_one_click(visitor, service, settings, run_tasks):
    settings.PIQUET_BASE_URL = "http://testserver"
    with run_tasks():
        response = visitor.post("/status/subscribe/", {"email": "Reader@Example.com"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    subscriber = Subscriber.objects.get(address="reader@example.com")
    assert subscriber.group is None and subscriber.confirmed_at is None and subscriber.language == "fr"
    [confirmation] = mail.outbox
    assert confirmation.subject == "Confirmez votre abonnement aux mises à jour d'état"
    confirm_link = re.search(r"http://testserver(\S+)", confirmation.body).group(1)

    # Not confirmed yet: no updates.
    incident = IncidentFactory(service=service, severity="SEV2", title="Search is slow")
    _fan_out(publish(incident, "Looking."))
    assert len(mail.outbox) == 1

    # Following the link (as a mail scanner would) confirms nothing: the page has a button.
    page = visitor.get(confirm_link)
    assert page.status_code == 200 and 'name="confirm"' in page.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None
    assert visitor.post(confirm_link).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is not None
    assert visitor.get(confirm_link.replace("/confirm/", "/confirm/x")).status_code == 400

    _fan_out(publish(incident, "Found it.", phase="identified"))
    [update_mail] = mail.outbox[1:]
    assert update_mail.to == ["reader@example.com"]
    assert "Cause identifiée" in update_mail.subject
    unsubscribe = re.search(r"<http://testserver(\S+)>", update_mail.extra_headers["List-Unsubscribe"]).group(1)
    assert unsubscribe in update_mail.body
    assert visitor.post(unsubscribe, "List-Unsubscribe=One-Click", content_type="text/plain").status_code == 200
    assert not Subscriber.objects.filter(address="reader@example.com").exists()
    assert visitor.get("/status/unsubscribe/forged/").status_code == 400


def test_subscribing_twice_does_not_reveal_or_duplicate(visitor):
    for _ in range(2):
        assert visitor.post("/status/subscribe/", {"email": "a@example.com"}).status_code == 200
    assert Subscriber.objects.filter(address="a@example.com").count() == 1
    bad = visitor.post("/status/subscribe/", {"email": "not-an-address"})
    assert bad.status_code == 400
    assert "Enter a valid email address" in bad.content.decode()


def _fan_out(update):
    from comms import stakeholders

    stakeholders.fan_out(update.pk)
    stakeholders.DELIVERIES.send(list(update.deliveries.values_list("pk", flat=True)))


def _busy_history(services, days=90):
    """Every service has had a public incident every third day, a third of them still open."""
    base = timezone.now() - dt.timedelta(days=days)
    for index, service in enumerate(services):
        for day in range(index % 3, days, 3):
            with time_machine.travel(base + dt.timedelta(days=day, hours=1)):
                incident = IncidentFactory(service=service, severity=("SEV1", "SEV2", "SEV3")[day % 3])
                publish(incident, f"Update {day}")
                if day < days - 3:
                    lifecycle.resolve(incident)


@pytest.mark.parametrize("count", [5, 50])
def test_status_page_queries_do_not_grow_with_services_and_history(visitor, count, django_assert_max_num_queries):
    services = [ServiceFactory() for _ in range(count)]
    _busy_history(services, days=90 if count == 50 else 30)
    assert StatusUpdate.objects.count() > count
    with django_assert_max_num_queries(8):
        assert visitor.get("/status/").status_code == 200
    with django_assert_max_num_queries(8):
        assert visitor.get("/api/v1/status/").status_code == 200
    with django_assert_max_num_queries(6):
        assert visitor.get("/status/feed/").status_code == 200
