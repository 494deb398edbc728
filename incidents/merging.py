"""The data work of merging one incident into another (the state change itself is `lifecycle.merge`).

Each function runs inside the merge's transaction, with both incidents row-locked.
"""

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_noop

from incidents import timeline
from incidents.models import Alert, DedupAlias, Incident, TimelineEntry


def lock_both(incident, into):
    """Both incidents, re-read and row-locked lowest id first: two merges of the same pair, either way round,
    wait for each other instead of deadlocking."""
    locked = {pk: Incident.objects.select_for_update().get(pk=pk) for pk in sorted({incident.pk, into.pk})}
    return locked[incident.pk], locked[into.pk]


def move_alerts(source, target):
    """Give the source's alerts to the target, with their count; returns how many were counted over.

    An Alertmanager alert that the target already holds (the same fingerprint) stays with the source, counted
    there: an incident holds one row per fingerprint.
    """
    on_target = Alert.objects.filter(incident=target, fingerprint=OuterRef("fingerprint"))
    held = Alert.objects.filter(incident=source).exclude(fingerprint="").filter(Exists(on_target))
    staying = held.count()
    Alert.objects.filter(incident=source).exclude(pk__in=held.values("pk")).update(incident=target)
    moved = max(source.alert_count - staying, 0)
    if moved:
        target.alert_count += moved
        source.alert_count -= moved
        if source.last_alert_at and (target.last_alert_at is None or source.last_alert_at > target.last_alert_at):
            target.last_alert_at = source.last_alert_at
        target.save(update_fields=["alert_count", "last_alert_at"])
        source.save(update_fields=["alert_count"])
    return moved


def carry_keys(source, target):
    """The source's dedup key, and the keys merged into it before, now lead to the target while it is open."""
    DedupAlias.objects.filter(incident=source).update(incident=target)
    DedupAlias.objects.create(service_id=source.service_id, dedup_key=source.dedup_key, incident=target)


def link(source, target, *, by, moved):
    """Mark the source as merged into the target, and say so on both timelines."""
    source.merged_into = target
    source.save(update_fields=["merged_into"])
    data = {"source": source.pk, "target": target.pk, "alerts": moved}
    timeline.record(
        source,
        TimelineEntry.Kind.MERGED,
        gettext_noop("Merged into #%(number)s"),
        params={"number": target.number},
        by=by,
        data=data,
    )
    timeline.record(
        target,
        TimelineEntry.Kind.MERGED,
        gettext_noop("#%(number)s merged into this incident (alerts moved here: %(alerts)s)"),
        params={"number": source.number, "alerts": moved},
        by=by,
        data=data,
    )
