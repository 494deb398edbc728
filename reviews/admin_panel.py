"""The review panel of the incident page: the review's state and a link, or a button to start one.

Reviews extends the incident admin as comms does (a subclass of comms' page, registered in its place).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _

from comms import incident_panel
from incidents.models import Incident
from reviews import drafting
from reviews.models import Review


def start_review_view(modeladmin, request, pk):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("reviews.add_review"):
        raise PermissionDenied
    incident = get_object_or_404(Incident.objects.visible_to(request.user).select_related("service"), pk=pk)
    review, created = drafting.start(incident, by=request.user)
    if created:
        modeladmin.message_user(request, _("The review is drafted from the record."), messages.SUCCESS)
        modeladmin.log_change(request, incident, "review started")
    return HttpResponseRedirect(reverse("admin:reviews_review_change", args=[review.pk]))


class IncidentAdmin(incident_panel.IncidentAdmin):
    """The incident page with the stakeholder panel (comms) and the review panel."""

    panel_templates = (*incident_panel.IncidentAdmin.panel_templates, "reviews/admin/incident_review.html")

    def panel_urls(self):
        return [
            *super().panel_urls(),
            path(
                "<int:pk>/review/",
                self.admin_site.admin_view(lambda request, pk: start_review_view(self, request, pk)),
                name="incidents_incident_review",
            ),
        ]

    def panel_context(self, incident, request):
        return {
            **super().panel_context(incident, request),
            "review": Review.objects.filter(incident=incident).first(),
            "review_required": drafting.requires_review(incident),
            "can_start_review": request.user.has_perm("reviews.add_review"),
            "can_see_review": request.user.has_perm("reviews.view_review"),
        }


admin.site.unregister(Incident)
admin.site.register(Incident, IncidentAdmin)
