"""Merging duplicates from the admin: a bulk action on the list and a small form on the incident page.

Mixed into incidents.admin_incident.IncidentAdmin; both call lifecycle.merge and say what happened.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import path
from django.utils.translation import gettext_lazy as _

from incidents import lifecycle
from incidents.models import Incident
from project.api import MAX_ID


class MergeForm(forms.Form):
    number = forms.IntegerField(
        label=_("Merge into #"),
        min_value=1,
        max_value=MAX_ID,
        widget=forms.NumberInput(attrs={"style": "width: 7em"}),
        error_messages={"required": _("Give the number of the incident to merge into.")},
    )


class MergeAdmin:
    """The merge action and the incident page's merge form, for an incident ModelAdmin."""

    @admin.action(description=_("Merge the selected incidents into the oldest one"), permissions=["change"])
    def merge_selected(self, request, queryset):
        incidents = list(queryset.open().order_by("created_at", "pk"))
        if len(incidents) < 2:
            self.message_user(request, _("Select at least two open incidents to merge."), messages.WARNING)
            return
        into, merged = incidents[0], []
        for incident in incidents[1:]:
            try:
                lifecycle.merge(incident, into=into, by=request.user)
            except lifecycle.TransitionError as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                merged.append(f"#{incident.number}")
                self.log_change(request, incident, f"merged into #{into.number}")
        if merged:
            done = _("Merged %(merged)s into #%(number)s.") % {"merged": ", ".join(merged), "number": into.number}
            self.message_user(request, done, messages.SUCCESS)

    def merge_urls(self):
        return [
            path("<int:pk>/merge/", self.admin_site.admin_view(self.merge_view), name="incidents_incident_merge"),
        ]

    def merge_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        form = MergeForm(request.POST, prefix="merge")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
            return self._back(incident, request)
        number = form.cleaned_data["number"]
        into = Incident.objects.visible_to(request.user).filter(number=number).first()
        if into is None:
            self.message_user(request, _("There is no incident #%(number)s.") % {"number": number}, messages.ERROR)
            return self._back(incident, request)
        try:
            into = lifecycle.merge(incident, into=into, by=request.user)
        except lifecycle.TransitionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return self._back(incident, request)
        done = _("Incident #%(number)s merged into #%(into)s.") % {"number": incident.number, "into": into.number}
        self.message_user(request, done, messages.SUCCESS)
        self.log_change(request, incident, str(done))
        self.log_change(request, into, str(done))
        return self._back(into, request)
