"""What a merge leaves behind: the merged incident's dedup keys, which now lead to the incident it joined."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
