"""The status page as an Atom feed: one entry per public status update."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comms.models import Phase, StatusPageSettings, StatusUpdate
from comms.stakeholder_messages import render_markdown

FEED_ITEMS = 50


class StatusFeed(Feed):
    feed_type = Atom1Feed
    subtitle = gettext_lazy("Public updates about incidents and their resolution.")

    def link(self):
        return reverse("status-index")

    def items(self):
        updates = list(
            StatusUpdate.objects.filter(public=True)
            .select_related("incident", "incident__service")
            .order_by("-posted_at", "-id")[:FEED_ITEMS]
        )
        language = translation.get_language() or settings.LANGUAGE_CODE
        for update in updates:
            update.html = render_markdown(update.text_in(language))
        return updates

    def title(self):
        return _("%(organisation)s status updates") % {"organisation": StatusPageSettings.current()["org_name"]}

    def item_title(self, update):
        incident = update.incident
        return f"{incident.service.public_label}: {incident.public_label} — {Phase(update.phase).label}"

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
