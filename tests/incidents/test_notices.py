"""Notices: a person is told something that is not a page, once per key, in their language, by their rules."""

import json

import pytest
from django.db import transaction
from django.utils import timezone, translation

from incidents import notices
from incidents.models import Notice
from people.models import ContactMethod, NotificationRule, Profile
from tests.factories import UserFactory
from worker import health

pytestmark = pytest.mark.django_db(transaction=True)


def _webhook(user, url):
    method = ContactMethod.objects.create(user=user, kind=ContactMethod.Kind.WEBHOOK, address=url)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)
    return method


def test_a_notice_reaches_the_persons_webhook_once_per_key(settings, http_receiver):
    settings.PIQUET_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    user = UserFactory()
    _webhook(user, http_receiver.url + "/hook")
    for _attempt in range(2):
        with transaction.atomic():
            notices.tell(user, kind=Notice.Kind.HEADS_UP, subject="Your shift", text="Starts at 08:00", key="shift:1")
    assert Notice.objects.count() == 1
    assert notices.NOTICES.send(Notice.objects.values_list("pk", flat=True)) == 1
    [request] = http_receiver.requests
    body = json.loads(request["body"])
    assert body["event"] == "notice.heads_up"
    assert body["subject"] == "Your shift"
    assert Notice.objects.get().status == Notice.Status.SENT


def test_without_rules_the_notice_goes_by_e_mail_and_a_person_with_no_address_is_logged(smtp_server, caplog):
    user = UserFactory(email="ana@example.com")
    nobody = UserFactory(email="")
    [notice] = notices.tell(user, kind=Notice.Kind.OTHER, subject="Hello", text="Text")
    assert notice.contact_method.kind == ContactMethod.Kind.EMAIL
    assert notices.tell(nobody, kind=Notice.Kind.OTHER, subject="Hello", text="Text") == []
    assert "no contact method" in caplog.text
    notices.NOTICES.send([notice.pk])
    [message] = smtp_server.messages
    assert message["to"] == ["ana@example.com"]
    assert "Subject: Hello" in message["data"]


def test_texts_are_made_in_the_persons_language():
    user = UserFactory(email="b@example.com")
    Profile.objects.create(user=user, language="fr")
    with notices.speaking_to(user):
        assert translation.get_language() == "fr"
    assert translation.get_language() != "fr"


def test_the_ticker_hands_out_a_lost_notice_and_health_names_stuck_ones():
    user = UserFactory(email="c@example.com")
    [notice] = notices.tell(user, kind=Notice.Kind.OTHER, subject="S", text="T")
    Notice.objects.filter(pk=notice.pk).update(enqueued_at=None)  # its enqueue was lost
    assert notices.tick() == 1
    Notice.objects.filter(pk=notice.pk).update(
        status=Notice.Status.SENDING, claimed_at=timezone.now() - timezone.timedelta(hours=1)
    )
    _healthy, details = health.report()
    assert any("notices stuck" in problem for problem in details["problems"])
