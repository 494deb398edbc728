"""Freeze exceptions: requested by one person, approved by a manager who is someone else."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from project.api import ConflictError
from project.roles import MANAGERS
from releases.models import FreezeException

logger = logging.getLogger(__name__)


class ApprovalForbidden(Exception):
    """This person may not approve this exception."""


class ApprovalConflict(ConflictError):
    """The exception's state does not allow an approval (already approved, expired)."""


def is_manager(user):
    return user.is_active and (user.is_superuser or user.groups.filter(name=MANAGERS).exists())


def request_exception(*, services, reason, requested_by, starts_at, ends_at, incident=None):
    """Record a request for an exception; it allows nothing until approved."""
    if ends_at <= starts_at:
        raise ValueError(_("ends_at must be after starts_at."))
    with transaction.atomic():
        exception = FreezeException.objects.create(
            reason=reason, requested_by=requested_by, starts_at=starts_at, ends_at=ends_at, incident=incident
        )
        exception.services.set(services)
    logger.info("freeze exception requested id=%s by=%s", exception.pk, requested_by)
    return exception


def approve_exception(exception, *, by):
    """A manager other than the requester approves; refused when expired or already approved."""
    if not is_manager(by):
        raise ApprovalForbidden(_("Only a manager may approve a freeze exception."))
    with transaction.atomic():
        exception = FreezeException.objects.select_for_update().get(pk=exception.pk)
        if exception.requested_by_id == by.pk:
            raise ApprovalForbidden(_("You cannot approve your own request: ask another manager."))
        if exception.is_approved:
            raise ApprovalConflict(
                _("Exception #%(id)s is already approved by %(user)s.")
                % {"id": exception.pk, "user": exception.approved_by}
            )
        if exception.ends_at <= timezone.now():
            raise ApprovalConflict(_("Exception #%(id)s has expired.") % {"id": exception.pk})
        exception.approved_by = by
        exception.approved_at = timezone.now()
        exception.save(update_fields=["approved_by", "approved_at"])
    logger.info("freeze exception approved id=%s by=%s", exception.pk, by)
    return exception
