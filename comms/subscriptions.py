"""Visitors' subscriptions to the public status page: unconfirmed ones do not linger."""

import logging
from datetime import timedelta

from django.utils import timezone

from comms.models import Subscriber

logger = logging.getLogger(__name__)

UNCONFIRMED_FOR = timedelta(days=7)  # the confirmation link expires then, too


def expire_unconfirmed(now=None):
    """Forget visitors who did not confirm within a week; returns how many."""
    now = now or timezone.now()
    stale = Subscriber.objects.filter(group=None, confirmed_at=None, created_at__lt=now - UNCONFIRMED_FOR)
    count, _by_model = stale.delete()
    if count:
        logger.info("unconfirmed subscribers expired count=%s", count)
    return count
