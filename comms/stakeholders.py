"""Stakeholder messages: who receives what, written as rows before anything is sent.

A message (a status update, a reminder, a role notice …) has a key; each
address it goes to is one `Delivery` row, unique per key, channel and address,
so a message reaches an address once however often the fan-out runs. Tasks
send the rows in batches; each row is claimed with a compare-and-set before
its slow I/O, and a failure is retried with backoff.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from comms.models import ContactMethod, Delivery, NotificationRule, StakeholderGroup, StatusUpdate, Subscriber
from comms.notify import person_language

logger = logging.getLogger(__name__)

BATCH = 100
MAX_ATTEMPTS = 3
RETRY_BACKOFF = (10, 30)
REENQUEUE_AFTER = timedelta(seconds=60)
STALE_SENDING_AFTER = timedelta(seconds=120)
MEMBER_KINDS_EXCLUDED = (ContactMethod.Kind.VOICE,)


def _enqueue(task, *args):
    from django_q.tasks import async_task

    async_task(task, *args)


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


def recipients_for(update):
    """Delivery rows (unsaved) for a status update: members and subscribers of matching groups, and, when
    the update is public, the confirmed visitors of the status page. One row per channel and address."""
    from django.contrib.auth import get_user_model

    incident = update.incident
    key = f"update:{update.pk}"
    groups = matching_groups(incident)
    group_ids = [g.pk for g in groups]
    rows = {}

    def add(kind, address, **fields):
        address = address.strip()
        rows.setdefault(
            (kind, address),
            Delivery(
                key=key,
                purpose=Delivery.Purpose.STATUS_UPDATE,
                incident=incident,
                update=update,
                kind=kind,
                address=address,
                **fields,
            ),
        )

    User = get_user_model()
    members = (
        User.objects.filter(stakeholder_groups__in=group_ids, is_active=True)
        .distinct()
        .select_related("piquet_profile")
        .prefetch_related("contact_methods", "stakeholder_groups")
    )
    for user in members:
        language = person_language(user)
        groups_of_user = sorted(g.pk for g in user.stakeholder_groups.all() if g.pk in group_ids)
        for kind, address, method in member_methods(user):
            add(kind, address, user=user, contact_method=method, language=language, data={"groups": groups_of_user})
    subscribers = Subscriber.objects.filter(group__in=group_ids)
    if update.public:
        subscribers = Subscriber.objects.filter(
            Q(group__in=group_ids) | Q(group__isnull=True, confirmed_at__isnull=False)
        )
    for subscriber in subscribers.order_by("id"):
        add(subscriber.kind, subscriber.address, subscriber=subscriber, language=subscriber.language)
    return list(rows.values()), groups


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
    rows, groups = recipients_for(update)
    for row in rows:
        row.due_at = now
        row.created_at = now
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    if first_run:
        TimelineEntry.objects.create(
            incident=update.incident,
            kind="stakeholders",
            actor_name="Piquet",
            message=_("%(kind)s sent to %(count)s address(es): %(groups)s.")
            % {
                "kind": update.get_kind_display(),
                "count": len(rows),
                "groups": ", ".join(g.name for g in groups) or _("no stakeholder group"),
            },
            data={"update": update.pk, "deliveries": len(rows), "groups": [g.pk for g in groups]},
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
        _enqueue("comms.tasks.send_deliveries", chunk)
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


def send(delivery_id, *, now=None, cache=None):
    """Deliver one due row, once. Returns True when this call sent it."""
    from comms.delivery import deliver
    from comms.stakeholder_messages import build

    now = now or timezone.now()
    claimed = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING, due_at__lte=now).update(
        status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed != 1:
        return False
    delivery = Delivery.objects.select_related(
        "incident", "incident__service", "update", "subscriber", "contact_method", "user"
    ).get(pk=delivery_id)
    if not _still_wanted(delivery):
        Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.CANCELLED)
        return False
    result = deliver(_target(delivery), build(delivery, cache=cache))
    if result.ok:
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.SENT, sent_at=timezone.now(), response=result.response[:2000], error=""
        )
    elif delivery.attempts < MAX_ATTEMPTS:
        delay = RETRY_BACKOFF[min(delivery.attempts, len(RETRY_BACKOFF)) - 1]
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.PENDING,
            due_at=timezone.now() + timedelta(seconds=delay),
            enqueued_at=None,
            error=result.error[:2000],
            response=result.response[:2000],
        )
    else:
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.FAILED, error=result.error[:2000], response=result.response[:2000]
        )
        logger.warning("stakeholder delivery failed for good id=%s key=%s", delivery.pk, delivery.key)
    return result.ok


def send_many(delivery_ids):
    cache = {}
    return sum(1 for pk in delivery_ids if send(pk, cache=cache))


def base_url():
    return settings.PIQUET_BASE_URL
