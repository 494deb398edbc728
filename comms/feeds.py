"""The status page as an Atom feed: one entry per public status update."""

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from comms.models import Phase, StatusUpdate
from comms.stakeholder_messages import render_markdown
from comms.status_page import NoticeWriter

FEED_ITEMS = 50


class StatusFeed(Feed):
    feed_type = Atom1Feed
    title = _("Status updates")
    subtitle = _("Public updates about incidents and their resolution.")

    def link(self):
        return reverse("status-index")

    def items(self):
        updates = list(
            StatusUpdate.objects.filter(public=True)
            .select_related("incident", "incident__service")
            .order_by("-posted_at", "-id")[:FEED_ITEMS]
        )
        writer = NoticeWriter({u.incident_id for u in updates}, translation.get_language() or "en")
        for update in updates:
            text = update.message
            if update.kind == StatusUpdate.Kind.NOTICE:
                text = writer.text(update, update.incident)
            update.html = render_markdown(text)
        return updates

    def item_title(self, update):
        incident = update.incident
        return f"{incident.service.name}: {incident.title} — {Phase(update.phase).label}"

    def item_description(self, update):
        return update.html

    def item_link(self, update):
        return reverse("status-incident", args=[update.incident.number]) + f"#update-{update.pk}"

    def item_guid(self, update):
        return f"status-update-{update.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, update):
        return update.posted_at

    def item_updateddate(self, update):
        return update.posted_at

    def item_categories(self, update):
        return [update.incident.service.slug, update.phase]
