"""Stakeholder messages: who receives what, written as rows before anything is sent.

A message (a status update, a reminder, a role notice …) has a key; each
address it goes to is one `Delivery` row, unique per key, channel and address,
so a message reaches an address once however often the fan-out runs. The rows
are sent by `DELIVERIES`, an outbox of `delivery`: in batches, each row claimed
with a compare-and-set before its slow I/O, a failure retried with backoff.
"""

import logging

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from comms.models import Delivery, StakeholderGroup, StatusUpdate, Subscriber
from comms.stakeholder_messages import build
from delivery.outbox import Outbox
from delivery.transports import Target
from incidents import timeline
from people.models import ContactMethod, immediate_methods, person_language

logger = logging.getLogger(__name__)

BATCH = 250  # deliveries per task
MEMBER_KINDS_EXCLUDED = (ContactMethod.Kind.VOICE,)


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


def member_rows(update, group_ids):
    """Delivery rows (unsaved) for the members of the matching groups: one per channel and address."""
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
        StatusUpdate.objects.filter(pk=update.pk, fanned_out_at=None).update(fanned_out_at=now)
    count = Delivery.objects.filter(key=key).count()
    if first_run:
        timeline.record(
            update.incident,
            timeline.Kind.STAKEHOLDERS,
            gettext_noop("%(kind)s sent to %(count)s address(es): %(groups)s.")
            if groups
            else gettext_noop("%(kind)s sent to %(count)s address(es), no stakeholder group."),
            params={
                "kind": timeline.label(StatusUpdate.Kind(update.kind)),
                "count": count,
                "groups": ", ".join(g.name for g in groups),
            },
            data={"update": update.pk, "deliveries": count, "groups": [g.pk for g in groups]},
        )
    return DELIVERIES.hand_out(Delivery.objects.filter(key=key), now=now)


def fan_out_to_groups(update, groups, *, key_prefix, now=None):
    """Send a status update to these groups' members and subscribers, once per group: each group's rows have
    their own key (`key_prefix:group id`), so running this again tells nobody twice. Returns the groups told."""
    now = now or timezone.now()
    told = []
    for group in groups:
        key = f"{key_prefix}:{group.pk}"
        if Delivery.objects.filter(key=key).exists():
            continue
        rows = member_rows(update, [group.pk])
        rows += [
            Delivery(
                purpose=Delivery.Purpose.STATUS_UPDATE,
                incident=update.incident,
                update=update,
                subscriber=subscriber,
                kind=subscriber.kind,
                address=subscriber.address.strip(),
                language=subscriber.language,
            )
            for subscriber in Subscriber.objects.filter(group=group)
        ]
        for row in rows:
            row.key, row.due_at, row.created_at = key, now, now
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        told.append(group)
    if told:
        DELIVERIES.hand_out(Delivery.objects.filter(key__in=[f"{key_prefix}:{group.pk}" for group in told]), now=now)
    return told


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
        for kind, address, method in immediate_methods(user)
    ]
    before = Delivery.objects.filter(key=key).count()
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return Delivery.objects.filter(key=key).count() - before


def hand_out_on_commit(key):
    DELIVERIES.hand_out_on_commit(Delivery.objects.filter(key=key))


# --- sending ----------------------------------------------------------------------------


def _prepare(delivery, cache):
    """The target and the message of a row, or None when its subscriber left (it is cancelled)."""
    subscriber = delivery.subscriber
    if subscriber is not None and not subscriber.is_active and delivery.purpose != Delivery.Purpose.CONFIRM:
        return None
    if delivery.contact_method_id:
        target = delivery.contact_method
    else:
        target = Target(kind=delivery.kind, address=delivery.address, secret=subscriber.secret if subscriber else "")
    return target, build(delivery, cache=cache)


DELIVERIES = Outbox(
    Delivery,
    task="comms.tasks.send_deliveries",
    prepare=_prepare,
    select_related=(
        "incident",
        "incident__service",
        "update",
        "update__incident",
        "update__incident__service",
        "subscriber",
        "contact_method",
        "user",
    ),
    batch=BATCH,
)
