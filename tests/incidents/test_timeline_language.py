"""Every timeline entry is shown in the reader's language: on the admin's incident page and in the API.

Entries are stored as an English msgid with its parameters; what a person typed is shown as written, and so
is an entry written before entries had parameters.
"""

import datetime as dt
import html
import re
from contextlib import contextmanager

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from incidents import escalation, events, roles, timeline
from incidents.models import Incident, IncidentEvent, IncidentRole, TimelineEntry
from releases import deployments
from rotations.models import EscalationPolicy, EscalationStep
from tests.factories import UserFactory
from tests.releases.factories import DeploymentFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 27, 18, 40, tzinfo=dt.UTC)
NOTE = "disk 95% full"
LEGACY = "Severity changed from SEV3 to SEV2"


@pytest.fixture
def tasks(monkeypatch, django_capture_on_commit_callbacks):
    """Tasks run when their transaction commits. The incident events' follow-ups in the apps above (stakeholder
    notices) are not run: their entries belong to those apps."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return run


def fail(event):
    raise RuntimeError("mail relay down")


@pytest.fixture
def worked(client, integration, responder, tasks):
    """An incident walked through trigger, escalation, acknowledgement, severity change and resolution."""
    alice = UserFactory(username="alice", first_name="Alice", last_name="Martin", email="alice@example.com")
    policy = EscalationPolicy.objects.create(name="Website")
    step = EscalationStep.objects.create(policy=policy, position=0, escalate_after_minutes=5)
    step.users.add(alice)
    integration.service.escalation_policy = policy
    integration.service.save()
    DeploymentFactory(service=integration.service, version="2.4.1", deployed_at=T0 - dt.timedelta(minutes=10))
    admin = Client()
    admin.force_login(responder)

    with time_machine.travel(T0, tick=False) as clock:
        body = {
            "routing_key": integration.key,
            "event_action": "trigger",
            "payload": {"summary": "Checkout answers 502", "source": "probe", "severity": "error"},
        }
        with tasks():
            assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
        incident = Incident.objects.get()
        base = f"/admin/incidents/incident/{incident.pk}"
        assert deployments.add_recent_deployments(incident.pk) == 1
        clock.shift(dt.timedelta(minutes=5))
        with tasks():
            escalation.tick()  # nobody acknowledged: the chain is exhausted
        clock.shift(dt.timedelta(minutes=1))
        with tasks():
            assert admin.post(f"{base}/escalate/").status_code == 302
        clock.shift(dt.timedelta(minutes=1))
        assert admin.post(f"{base}/acknowledge/").status_code == 302
        response = admin.post(f"{base}/severity/", {"change-severity": "SEV1", "change-reason": "Every checkout fails"})
        assert response.status_code == 302
        roles.assign(incident, role=IncidentRole.Role.COMMANDER, user=responder, by=responder)
        assert admin.post(f"{base}/note/", {"message": NOTE}).status_code == 302
        triggered = IncidentEvent.objects.get(incident=incident, kind=IncidentEvent.Kind.TRIGGERED)
        for _attempt in range(events.MAX_ATTEMPTS):
            events.run(triggered.pk, [fail])
            clock.shift(dt.timedelta(minutes=10))
        # As entries were written before they had parameters: English text, shown as written.
        timeline.record(incident, timeline.Kind.SEVERITY, LEGACY)
        assert admin.post(f"{base}/resolve/").status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.severity == "SEV1"
    return incident


def rendered(entries, language):
    with translation.override(language):
        return [entry.text for entry in entries], [entry.get_kind_display() for entry in entries]


def test_the_french_incident_page_shows_every_entry_and_kind_in_french(worked, responder):
    entries = list(worked.timeline.order_by("at", "id"))
    kinds = {entry.kind for entry in entries}
    assert {
        "triggered",
        "deployments",
        "escalation",
        "delivery",
        "escalated",
        "acknowledged",
        "severity",
        "role",
        "note",
        "follow_up",
        "resolved",
    } <= kinds
    admin = Client()
    admin.force_login(responder)

    page = admin.get(f"/admin/incidents/incident/{worked.pk}/change/", HTTP_ACCEPT_LANGUAGE="fr")

    assert page.status_code == 200
    body = page.content.decode()
    section = body[body.index('id="timeline"') : body.index('id="alerts"')]
    shown_kinds = [html.unescape(k) for k in re.findall(r'<span class="kind">(.*?)</span>', section)]
    shown_texts = [html.unescape(m) for m in re.findall(r'<span class="message">(.*?)</span>', section, re.S)]
    french_texts, french_kinds = rendered(entries, "fr")
    english_texts, english_kinds = rendered(entries, "en")
    assert shown_kinds == french_kinds
    assert shown_texts == french_texts
    assert not kinds & set(shown_kinds)  # never the raw code
    for entry, french, english in zip(entries, french_kinds, english_kinds, strict=True):
        if english != "Note":  # the same word in both languages
            assert french != english, entry.kind
    for entry, french, english in zip(entries, french_texts, english_texts, strict=True):
        if entry.params is not None:
            assert french != english, entry.message
    assert "Déclenché" in shown_kinds and "Triggered" not in shown_kinds
    assert "Déclenché : Checkout answers 502" in shown_texts
    assert "Acquitté" in shown_texts
    assert "Gravité modifiée de SEV2 à SEV1 : Every checkout fails" in shown_texts
    assert "Rita Responder est maintenant Commandant d'incident." in shown_texts
    assert "L'étape 1 (tour 2) a appelé Alice Martin. Escaladé par Rita Responder." in shown_texts
    assert any("2.4.1 sur production par ci (Autorisé)" in text for text in shown_texts)
    assert "Résolu" in shown_texts


def test_the_api_timeline_is_in_the_language_asked_for(worked, api_for, responder):
    api = api_for(responder)
    url = f"/api/v1/incidents/{worked.pk}/timeline/"

    english = api.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    french = api.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()
    german = api.get(url, HTTP_ACCEPT_LANGUAGE="de").json()

    assert set(english[0]) == {"id", "at", "kind", "kind_display", "actor", "message", "data"}
    assert [e["kind"] for e in french] == [e["kind"] for e in english] == [e["kind"] for e in german]

    def messages(rows, kind):
        return [row["message"] for row in rows if row["kind"] == kind]

    assert messages(english, "triggered") == ["Triggered: Checkout answers 502"]
    assert messages(french, "triggered") == ["Déclenché : Checkout answers 502"]
    assert messages(english, "acknowledged") == ["Acknowledged"]
    assert messages(french, "acknowledged") == ["Acquitté"]
    assert messages(english, "severity") == ["Severity changed from SEV2 to SEV1: Every checkout fails", LEGACY]
    assert messages(french, "severity") == ["Gravité modifiée de SEV2 à SEV1 : Every checkout fails", LEGACY]
    assert [e["kind_display"] for e in french if e["kind"] == "severity"] == ["Gravité modifiée"] * 2
    for en, fr in zip(english, french, strict=True):
        if en["kind"] != "note" and en["message"] != LEGACY:
            assert en["message"] != fr["message"], en["kind"]
    # German: whatever its catalogue holds, the entries render in German (the same way the page does).
    entries = list(TimelineEntry.objects.filter(incident=worked).order_by("at", "id"))
    assert [row["message"] for row in german] == rendered(entries, "de")[0]


def test_what_a_person_typed_is_shown_as_written_even_with_a_percent_sign(worked, api_for, responder):
    note = worked.timeline.get(kind="note")
    assert note.params is None and note.message == NOTE
    admin = Client()
    admin.force_login(responder)
    page = admin.get(f"/admin/incidents/incident/{worked.pk}/change/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f'<span class="message">{NOTE}</span>' in page
    for language in ("en", "fr"):
        rows = api_for(responder).get(f"/api/v1/incidents/{worked.pk}/timeline/", HTTP_ACCEPT_LANGUAGE=language)
        assert [row["message"] for row in rows.json() if row["kind"] == "note"] == [NOTE]


def test_an_entry_written_before_parameters_is_shown_as_written(worked, responder):
    legacy = worked.timeline.get(kind="severity", params__isnull=True)
    assert legacy.message == LEGACY
    admin = Client()
    admin.force_login(responder)
    page = admin.get(f"/admin/incidents/incident/{worked.pk}/change/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f'<span class="message">{LEGACY}</span>' in page


def test_the_timeline_entry_admin_shows_the_rendered_text(worked, manager):
    admin = Client()
    admin.force_login(manager)
    listing = admin.get("/admin/incidents/timelineentry/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Déclenché : Checkout answers 502" in listing
    assert "%(title)s" not in listing
    entry = worked.timeline.get(kind="acknowledged")
    detail = admin.get(f"/admin/incidents/timelineentry/{entry.pk}/change/", HTTP_ACCEPT_LANGUAGE="fr")
    assert detail.status_code == 200
    assert "Acquitté" in detail.content.decode()
    found = admin.get("/admin/incidents/timelineentry/?q=Checkout+answers").content.decode()
    assert "Triggered: Checkout answers 502" in found
