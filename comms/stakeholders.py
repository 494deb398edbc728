"""Stakeholder messages: who receives what, written as rows before anything is sent.

A message (a status update, a reminder, a role notice …) has a key; each
address it goes to is one `Delivery` row, unique per key, channel and address,
so a message reaches an address once however often the fan-out runs. Tasks
send the rows in batches; each row is claimed with a compare-and-set before
its slow I/O, and a failure is retried with backoff.
"""

import logging
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from comms.delivery import STALE_SENDING_AFTER, retry_delay
from comms.models import ContactMethod, Delivery, NotificationRule, StakeholderGroup, StatusUpdate, Subscriber
from comms.notify import person_language
from project.queue import enqueue

logger = logging.getLogger(__name__)

BATCH = 250  # deliveries per task
CLAIM_CHUNK = 100  # deliveries claimed at once inside a task
TASK_BUDGET = 40  # seconds a task starts new chunks for (django-q2 kills a task after 60)
FLUSH_EVERY = 1.0  # seconds between writes of the results
REENQUEUE_AFTER = timedelta(seconds=60)
MEMBER_KINDS_EXCLUDED = (ContactMethod.Kind.VOICE,)


def display_name(user):
    return user.get_full_name() or user.get_username()


# --- who hears of an incident --------------------------------------------------------


def matching_groups(incident):
    return list(StakeholderGroup.objects.matching(incident).order_by("name"))


def member_methods(user):
    """How a group member is reached: their enabled contact methods but voice calls; else their e-mail."""
    methods = [m for m in user.contact_methods.all() if m.enabled and m.kind not in MEMBER_KINDS_EXCLUDED]
    if methods:
        return [(m.kind, m.address, m) for m in methods]
    if user.email:
        return [(ContactMethod.Kind.EMAIL, user.email, None)]
    return []


def notice_methods(user):
    """How a person is told something now: their immediate notification rules; else their e-mail."""
    rules = NotificationRule.objects.filter(user=user, contact_method__enabled=True, delay_minutes=0).select_related(
        "contact_method"
    )
    methods = [(r.contact_method.kind, r.contact_method.address, r.contact_method) for r in rules]
    if methods:
        return methods
    emails = [m for m in user.contact_methods.all() if m.enabled and m.kind == ContactMethod.Kind.EMAIL]
    if emails:
        return [(m.kind, m.address, m) for m in emails]
    if user.email:
        return [(ContactMethod.Kind.EMAIL, user.email, None)]
    return []


def member_rows(update, group_ids):
    """Delivery rows (unsaved) for the members of the matching groups: one per channel and address."""
    from django.contrib.auth import get_user_model

    key = f"update:{update.pk}"
    rows = {}
    members = (
        get_user_model()
        .objects.filter(stakeholder_groups__in=group_ids, is_active=True)
        .distinct()
        .select_related("piquet_profile")
        .prefetch_related("contact_methods", "stakeholder_groups")
    )
    for user in members:
        language = person_language(user)
        groups_of_user = sorted(g.pk for g in user.stakeholder_groups.all() if g.pk in group_ids)
        for kind, address, method in member_methods(user):
            rows.setdefault(
                (kind, address.strip()),
                Delivery(
                    key=key,
                    purpose=Delivery.Purpose.STATUS_UPDATE,
                    incident=update.incident,
                    update=update,
                    kind=kind,
                    address=address.strip(),
                    user=user,
                    contact_method=method,
                    language=language,
                    data={"groups": groups_of_user},
                ),
            )
    return list(rows.values())


def subscribers_for(update, group_ids):
    """Subscribers of the matching groups, and the confirmed visitors of the status page for a public update."""
    matching = Q(group__in=group_ids)
    if update.public:
        matching |= Q(group__isnull=True, confirmed_at__isnull=False)
    return Subscriber.objects.filter(matching)


def _insert_subscriber_rows(update, group_ids, now):
    """One delivery per subscriber, written by the database in one statement (10,000 rows in a blink).

    Rows that exist already (the same message to the same address) are skipped by the unique constraint.
    """
    conditions = []
    params = []
    if group_ids:
        conditions.append(f"s.group_id IN ({', '.join(['%s'] * len(group_ids))})")
        params += group_ids
    if update.public:
        conditions.append("(s.group_id IS NULL AND s.confirmed_at IS NOT NULL)")
    if not conditions:
        return
    q = connection.ops.quote_name
    columns = [
        "key", "purpose", "incident_id", "update_id", "subscriber_id", "kind", "address", "language", "data",
        "status", "attempts", "due_at", "created_at", "error", "response", "claim",
    ]  # fmt: skip
    at = connection.ops.adapt_datetimefield_value(now)
    # Only quoted identifiers and placeholders are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {q(Delivery._meta.db_table)} ({', '.join(q(c) for c in columns)}) "  # noqa: S608
        f"SELECT %s, %s, %s, %s, s.id, s.kind, s.address, s.language, '{{}}', %s, 0, %s, %s, '', '', '' "
        f"FROM {q(Subscriber._meta.db_table)} s WHERE {' OR '.join(conditions)} "
        "ORDER BY s.id ON CONFLICT DO NOTHING"
    )
    head = [f"update:{update.pk}", Delivery.Purpose.STATUS_UPDATE.value, update.incident_id, update.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*head, Delivery.Status.PENDING.value, at, at, *params])


# --- writing the rows and handing them out ---------------------------------------------


def fan_out(update_id, *, now=None):
    """Write one delivery per address for a status update and hand them to the queue. Idempotent."""
    from incidents.models import TimelineEntry

    now = now or timezone.now()
    update = StatusUpdate.objects.select_related("incident", "incident__service").filter(pk=update_id).first()
    if update is None:
        return 0
    key = f"update:{update.pk}"
    first_run = not Delivery.objects.filter(key=key).exists()
    groups = matching_groups(update.incident)
    group_ids = [g.pk for g in groups]
    with transaction.atomic():
        rows = member_rows(update, group_ids)
        for row in rows:
            row.due_at = now
            row.created_at = now
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        _insert_subscriber_rows(update, group_ids, now)
    count = Delivery.objects.filter(key=key).count()
    if first_run:
        TimelineEntry.objects.create(
            incident=update.incident,
            kind="stakeholders",
            actor_name="Piquet",
            message=_("%(kind)s sent to %(count)s address(es): %(groups)s.")
            % {
                "kind": update.get_kind_display(),
                "count": count,
                "groups": ", ".join(g.name for g in groups) or _("no stakeholder group"),
            },
            data={"update": update.pk, "deliveries": count, "groups": [g.pk for g in groups]},
        )
    return hand_out(Delivery.objects.filter(key=key), now=now)


def create_for_person(*, user, key, purpose, incident=None, data=None, now=None):
    """Rows for one message to one person (a reminder, a role notice); returns how many are new."""
    now = now or timezone.now()
    rows = [
        Delivery(
            key=key,
            purpose=purpose,
            incident=incident,
            user=user,
            contact_method=method,
            kind=kind,
            address=address,
            language=person_language(user),
            data=data or {},
            due_at=now,
            created_at=now,
        )
        for kind, address, method in notice_methods(user)
    ]
    before = Delivery.objects.filter(key=key).count()
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return Delivery.objects.filter(key=key).count() - before


def hand_out(queryset, *, now=None):
    """Give due, pending, not yet handed-out deliveries to the queue in batches; returns how many."""
    now = now or timezone.now()
    not_handed = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER)
    due = queryset.filter(not_handed, status=Delivery.Status.PENDING, due_at__lte=now)
    ids = list(due.values_list("pk", flat=True))
    handed = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        Delivery.objects.filter(pk__in=chunk).update(enqueued_at=now)
        enqueue("comms.tasks.send_deliveries", chunk)
        handed += len(chunk)
    return handed


def hand_out_on_commit(key):
    transaction.on_commit(lambda: hand_out(Delivery.objects.filter(key=key)))


def recover(now=None):
    """A send whose worker died goes back to pending; due retries go to the queue."""
    now = now or timezone.now()
    Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=now - STALE_SENDING_AFTER).update(
        status=Delivery.Status.PENDING, enqueued_at=None
    )
    return hand_out(Delivery.objects.all(), now=now)


# --- sending ----------------------------------------------------------------------------


def _target(delivery):
    """The contact method to deliver to (a saved one, or one made up for a subscriber or an e-mail)."""
    if delivery.contact_method_id:
        return delivery.contact_method
    secret = delivery.subscriber.secret if delivery.subscriber_id else ""
    return ContactMethod(kind=delivery.kind, address=delivery.address, secret=secret)


def _still_wanted(delivery):
    subscriber = delivery.subscriber
    return subscriber is None or subscriber.is_active or delivery.purpose == Delivery.Purpose.CONFIRM


def send(delivery_id, *, now=None):
    """Deliver one due row, once. Returns True when this call sent it."""
    return send_many([delivery_id], now=now) == 1


def send_many(delivery_ids, *, now=None):
    """Deliver due rows, each once, a small chunk at a time; returns how many were sent.

    A chunk is claimed in one compare-and-set (pending → sending, tagged with
    this call's token), so two workers given the same rows send each row once.
    Results are recorded at least every second, so a worker killed mid-chunk
    leaves few sent-but-unrecorded rows; rows left when the time budget is
    spent go back to the ticker, which hands them out again.
    """
    started = time.monotonic()
    cache = {}
    sent = 0
    for start in range(0, len(delivery_ids), CLAIM_CHUNK):
        if time.monotonic() - started > TASK_BUDGET:
            Delivery.objects.filter(pk__in=delivery_ids[start:], status=Delivery.Status.PENDING).update(
                enqueued_at=None
            )
            break
        sent += _send_chunk(delivery_ids[start : start + CLAIM_CHUNK], now=now or timezone.now(), cache=cache)
    return sent


def _send_chunk(delivery_ids, *, now, cache):
    from comms.delivery import deliver
    from comms.stakeholder_messages import build

    token = secrets.token_hex(16)
    claimed = Delivery.objects.filter(pk__in=delivery_ids, status=Delivery.Status.PENDING, due_at__lte=now).update(
        status=Delivery.Status.SENDING, claimed_at=now, claim=token, attempts=F("attempts") + 1
    )
    if not claimed:
        return 0
    rows = Delivery.objects.filter(pk__in=delivery_ids, claim=token, status=Delivery.Status.SENDING).select_related(
        "incident",
        "incident__service",
        "update",
        "update__incident",
        "update__incident__service",
        "subscriber",
        "contact_method",
        "user",
    )
    sent = 0
    outcomes = []
    flushed = time.monotonic()
    for delivery in rows.order_by("id"):
        if _still_wanted(delivery):
            outcomes.append((delivery, deliver(_target(delivery), build(delivery, cache=cache))))
        else:
            outcomes.append((delivery, None))
        if time.monotonic() - flushed > FLUSH_EVERY:
            sent += _record_all(outcomes)
            outcomes, flushed = [], time.monotonic()
    return sent + _record_all(outcomes)


def _record_all(outcomes):
    """Write the results of several sends in one transaction (one commit, one fsync)."""
    with transaction.atomic():
        return sum(_record(delivery, result) for delivery, result in outcomes)


def _record(delivery, result):
    rows = Delivery.objects.filter(pk=delivery.pk, claim=delivery.claim)
    if result is None:
        rows.update(status=Delivery.Status.CANCELLED)
        return 0
    if result.ok:
        rows.update(status=Delivery.Status.SENT, sent_at=timezone.now(), response=result.response[:2000], error="")
        return 1
    if (delay := retry_delay(delivery.attempts)) is not None:
        rows.update(
            status=Delivery.Status.PENDING,
            due_at=timezone.now() + timedelta(seconds=delay),
            enqueued_at=None,
            error=result.error[:2000],
            response=result.response[:2000],
        )
    else:
        rows.update(status=Delivery.Status.FAILED, error=result.error[:2000], response=result.response[:2000])
        logger.warning("stakeholder delivery failed for good id=%s key=%s", delivery.pk, delivery.key)
    return 0


def base_url():
    return settings.PIQUET_BASE_URL
