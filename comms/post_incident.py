"""The post-incident summary on the public status page: set when a review is published, withdrawn with it.

Reviews calls these; the status page reads the rows (comms.status_page). Only a text a person wrote for
the public is stored here.
"""

from django.utils import timezone

from comms.models import PostIncidentSummary
from project.text import plain_text

MAX_SUMMARY_LENGTH = 10_000


def publish_summary(incident, *, text, at=None):
    """Show `text` as the incident's post-incident summary (an empty text withdraws it)."""
    text = plain_text(text).strip()[:MAX_SUMMARY_LENGTH]
    if not text:
        return withdraw_summary(incident)
    summary, _created = PostIncidentSummary.objects.update_or_create(
        incident=incident, defaults={"text": text, "published_at": at or timezone.now()}
    )
    return summary


def withdraw_summary(incident):
    PostIncidentSummary.objects.filter(incident=incident).delete()
    return None
