"""Models move between apps, their rows stay: a database deployed from main keeps its data.

The test database is migrated back to the migration heads of git commit
c112310 (main before the apps were reshaped), rows are written with the
historical models of that state, the database is migrated forward to today's
leaves, and every row is read back with today's models: same ids, same field
values, same foreign keys and many-to-many links.
"""

import datetime as dt

import pytest
from django.apps import apps as current_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

# The head of each of our apps' migrations on c112310.
HEADS_AT_C112310 = [
    ("project", "0002_heartbeat"),
    ("incidents", "0007_remove_escalation_version"),
    ("comms", "0006_updatecadence_severity"),
    ("rotations", "0002_escalation_policies"),
    ("releases", "0002_schedules"),
]
# Django's and third-party apps stay at their leaves.
OTHER_APPS = {"admin", "auth", "contenttypes", "sessions", "authtoken", "django_q"}

# Where a model of c112310 may live now, tried in order before its app of then.
MOVED_TO = {
    "comms.contactmethod": ["people"],
    "comms.profile": ["people"],
    "comms.notificationrule": ["people"],
}

T0 = dt.datetime(2026, 11, 27, 15, 0, 0, 123456, tzinfo=dt.UTC)


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def targets_at_c112310(executor):
    """HEADS_AT_C112310, and every app that did not exist then migrated to zero."""
    graph = executor.loader.graph
    missing = [node for node in HEADS_AT_C112310 if node not in graph.nodes]
    assert not missing, (
        f"migrations of c112310 are gone: {missing} — databases deployed from main have applied them, "
        "so they must stay (squash with `replaces` if need be)"
    )
    then = {app for app, _ in HEADS_AT_C112310} | OTHER_APPS
    new_apps = sorted(executor.loader.migrated_apps - then)
    return HEADS_AT_C112310 + [(app, None) for app in new_apps]


def write_rows(old):
    """Rows in every table a move may touch, written with the historical models; returns them."""
    User = old.get_model("auth", "User")
    user = User.objects.create(
        username="move-rita", first_name="Rita", last_name="Responder", email="rita@example.com", password="!"
    )
    other = User.objects.create(username="move-theo", email="theo@example.com", password="!")

    schedule = old.get_model("rotations", "Schedule").objects.create(
        name="Platform", description="Primary", time_zone="Europe/Zurich", created_at=at(0)
    )
    layer = old.get_model("rotations", "Layer").objects.create(
        schedule=schedule,
        name="Weekly",
        priority=2,
        rotation_start=at(1),
        starts_at=at(1),
        ends_at=at(100_000),
        shift_length=1,
        shift_unit="weeks",
        restrictions=[{"days": ["mon", "tue"], "start": "08:00", "end": "18:00"}],
        created_at=at(0),
    )
    participant = old.get_model("rotations", "Participant").objects.create(layer=layer, position=0, user=user)
    policy = old.get_model("rotations", "EscalationPolicy").objects.create(
        name="Platform chain", description="Call the platform team", repeat=1, created_at=at(0)
    )
    step = old.get_model("rotations", "EscalationStep").objects.create(
        policy=policy, position=0, escalate_after_minutes=5
    )
    step.users.set([other])
    step.schedules.set([schedule])

    service = old.get_model("incidents", "Service").objects.create(
        name="Checkout", slug="move-checkout", description="Takes the money", escalation_policy=policy, created_at=at(0)
    )
    incident = old.get_model("incidents", "Incident").objects.create(
        number=4242,
        title="Checkout answers 502",
        description="Since the deploy",
        severity="SEV1",
        status="acknowledged",
        dedup_key="checkout-502",
        alert_count=3,
        created_at=at(2),
        last_alert_at=at(3),
        acknowledged_at=at(4),
        acknowledged_by=user,
        service=service,
    )
    entry = old.get_model("incidents", "TimelineEntry").objects.create(
        incident=incident,
        at=at(4),
        kind="acknowledged",
        actor=user,
        actor_name="Rita Responder",
        message="Acknowledged",
        data={"via": "sms", "step": 0},
    )
    escalation = old.get_model("incidents", "Escalation").objects.create(
        incident=incident,
        policy_name="Platform chain",
        snapshot={"repeat": 1, "steps": [{"after": 5, "users": [other.pk], "schedules": [schedule.pk]}]},
        state="acknowledged",
        round=0,
        step=0,
        next_at=None,
        started_at=at(2),
    )

    profile = old.get_model("comms", "Profile").objects.create(
        user=user, language="fr", notify_on_acknowledge=False, notify_on_resolve=True
    )
    contact_method = old.get_model("comms", "ContactMethod").objects.create(
        user=user,
        kind="sms",
        address="+41791234567",
        label="work phone",
        enabled=True,
        secret="s" * 64,
        created_at=at(0),
    )
    rule = old.get_model("comms", "NotificationRule").objects.create(
        user=user, contact_method=contact_method, delay_minutes=2
    )
    page = old.get_model("incidents", "Page").objects.create(
        incident=incident, user=user, round=0, step=0, via="Platform", created_at=at(2)
    )
    notification = old.get_model("incidents", "Notification").objects.create(
        incident=incident,
        user=user,
        contact_method=contact_method,
        page=page,
        purpose="page",
        round=0,
        step=0,
        delay_minutes=2,
        status="sent",
        due_at=at(2),
        attempts=1,
        claimed_at=at(2),
        sent_at=at(3),
        error="",
        provider_response="SM0123456789",
        created_at=at(2),
    )

    group = old.get_model("comms", "StakeholderGroup").objects.create(
        name="Shop managers", min_severity="SEV2", created_at=at(0)
    )
    group.members.set([other])
    group.services.set([service])
    subscriber = old.get_model("comms", "Subscriber").objects.create(
        group=group, kind="email", address="shop@example.com", language="fr", secret="t" * 64, confirmed_at=at(1)
    )
    update = old.get_model("comms", "StatusUpdate").objects.create(
        incident=incident,
        author=user,
        kind="update",
        phase="identified",
        message="We know why checkout fails.",
        public=True,
        next_update_at=at(34),
        eta=at(64),
        posted_at=at(4),
    )
    delivery = old.get_model("comms", "Delivery").objects.create(
        key=f"update:{update.pk}",
        purpose="status_update",
        kind="email",
        address="shop@example.com",
        language="fr",
        data={"subject": "Checkout", "n": 1},
        status="sent",
        attempts=1,
        due_at=at(4),
        claimed_at=at(4),
        sent_at=at(5),
        error="",
        response="250 OK",
        created_at=at(4),
        incident=incident,
        update=update,
        subscriber=subscriber,
        user=other,
        contact_method=contact_method,
    )

    window = old.get_model("releases", "ReleaseWindow").objects.create(
        name="Friday afternoon",
        kind="deny",
        enforcement="hard",
        time_zone="Europe/Zurich",
        environments="production",
        message="No deploys on Friday afternoon",
        enabled=True,
        start_cron="0 14 * * 5",
        end_cron="0 8 * * 1",
        holiday_country="CH",
        holiday_subdivision="ZH",
        created_at=at(0),
    )
    window.services.set([service])

    return [
        user, other, schedule, layer, participant, policy, step, service, incident, entry, escalation,
        profile, contact_method, rule, page, notification,
        group, subscriber, update, delivery, window,
    ]  # fmt: skip


def snapshot(instance):
    """(label, pk, {column: (attname, value)}, many-to-many pks by field name), read back from the database."""
    model = type(instance)
    meta = model._meta
    fields = meta.concrete_fields
    row = model._base_manager.filter(pk=instance.pk).values(*(f.attname for f in fields)).get()
    columns = {f.column: (f.attname, row[f.attname]) for f in fields}
    links = {
        field.name: sorted(getattr(instance, field.name).values_list("pk", flat=True))
        for field in meta.local_many_to_many
    }
    return meta.label_lower, instance.pk, columns, links


def current_model(label):
    app, name = label.split(".")
    for candidate in [*MOVED_TO.get(label, []), app]:
        try:
            return current_apps.get_model(candidate, name)
        except LookupError:
            continue
    return None


def current_attname(model, column, old_attname):
    """The field that holds the column now: the same column (a field renamed over it), else the same name."""
    fields = model._meta.concrete_fields
    by_column = {f.column: f.attname for f in fields}
    by_name = {f.attname for f in fields}
    return by_column.get(column) or (old_attname if old_attname in by_name else None)


def differences(label, pk, columns, links):
    model = current_model(label)
    if model is None:
        tried = [*MOVED_TO.get(label, []), label.split(".")[0]]
        return [f"{label}: no such model now in apps {tried} — add where it moved to MOVED_TO"]
    where = f"{label} id={pk} (now {model._meta.label_lower})"
    now_names = {column: current_attname(model, column, attname) for column, (attname, _) in columns.items()}
    gone = [attname for column, (attname, _) in columns.items() if now_names[column] is None]
    if gone:
        return [f"{where}: columns {gone} are gone"]
    rows = list(model._base_manager.filter(pk=pk).values(*now_names.values()))
    if not rows:
        return [f"{where}: the row is gone"]
    found = [
        f"{where}.{now_names[column]}: {value!r} became {rows[0][now_names[column]]!r}"
        for column, (_, value) in columns.items()
        if rows[0][now_names[column]] != value
    ]
    instance = model._base_manager.get(pk=pk)
    for name, pks in links.items():
        try:
            now = sorted(getattr(instance, name).values_list("pk", flat=True))
        except AttributeError:
            found.append(f"{where}.{name}: the many-to-many field is gone")
            continue
        if now != pks:
            found.append(f"{where}.{name}: links {pks} became {now}")
    return found


def test_rows_written_before_the_apps_were_reshaped_survive_the_migrations():
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        targets = targets_at_c112310(executor)
        executor.migrate(targets)

        executor = MigrationExecutor(connection)
        old = executor.loader.project_state(HEADS_AT_C112310).apps
        before = [snapshot(instance) for instance in write_rows(old)]

        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

        found = [line for row in before for line in differences(*row)]
        assert not found, "rows changed across the migrations:\n" + "\n".join(found)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        executor.loader.build_graph()
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
        assert not unapplied, f"the database is not back at the leaves: {unapplied}"
