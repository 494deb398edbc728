"""What a merge leaves behind: the merged incident's dedup keys, which now lead to the incident it joined."""

import time

from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models.choices import Status
from incidents.models.core import Incident
from incidents.models.services import Service


class DedupAlias(models.Model):
    """A later alert of `service` with `dedup_key` joins `incident` while it is open (see lifecycle.merge).

    Consulted only when no open incident holds the key, before a new one is opened; once `incident` is
    resolved the alias no longer applies and the key opens a new incident as usual.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service"))
    dedup_key = models.CharField(_("deduplication key"), max_length=255)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("incident"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("merged dedup key")
        verbose_name_plural = _("merged dedup keys")
        indexes = [models.Index(fields=["service", "dedup_key"], name="alias_service_dedup_key")]

    def __str__(self):
        return f"{self.dedup_key} → #{self.incident.number}"


ALIAS_CACHE_SECONDS = 5  # another process sees a new alias within this time
_aliased = {"at": float("-inf"), "services": frozenset()}


def services_with_aliases():
    """The ids of the services that have a merged dedup key leading to an open incident: asked every few seconds
    per process, so a new incident of any other service costs no query for aliases."""
    now = time.monotonic()
    if now - _aliased["at"] > ALIAS_CACHE_SECONDS:
        live = DedupAlias.objects.exclude(incident__status=Status.RESOLVED).values_list("service_id", flat=True)
        _aliased["services"] = frozenset(live.distinct())
        _aliased["at"] = now
    return _aliased["services"]


def forget_aliases():
    _aliased["at"] = float("-inf")


def _aliases_changed(**kwargs):
    forget_aliases()
    transaction.on_commit(forget_aliases)  # and once others can read them


post_save.connect(_aliases_changed, sender=DedupAlias, dispatch_uid="incidents.forget_aliases.save")
post_delete.connect(_aliases_changed, sender=DedupAlias, dispatch_uid="incidents.forget_aliases.delete")
