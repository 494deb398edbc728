"""Calling in responders and setting the conference bridge from the incident page.

Mixed into incidents.admin_incident.IncidentAdmin: a panel listing who was asked and what they answered, a
form to ask more people (people, whoever is on call for a schedule, an escalation policy) and a form for the
bridge. Both call their use case (incidents.responders, incidents.bridge) and say what happened.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.urls import path
from django.utils.translation import gettext_lazy as _

from incidents import bridge, responders
from incidents.models import MAX_REQUEST_MESSAGE, ResponderRequest
from people.teams import visible
from project.api import ConflictError
from rotations.models import EscalationPolicy, Schedule


class _PersonChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class AddRespondersForm(forms.Form):
    users = _PersonChoice(label=_("People"), queryset=get_user_model().objects.none(), required=False)
    schedules = forms.ModelMultipleChoiceField(label=_("On call for"), queryset=Schedule.objects.none(), required=False)
    policies = forms.ModelMultipleChoiceField(
        label=_("Escalation policies"), queryset=EscalationPolicy.objects.none(), required=False
    )
    message = forms.CharField(
        label=_("Message"),
        max_length=MAX_REQUEST_MESSAGE,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Why you ask them: it is in the page they get."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
        )
        self.fields["schedules"].queryset = visible(Schedule.objects.all(), user).order_by("name")
        self.fields["policies"].queryset = visible(EscalationPolicy.objects.all(), user).order_by("name")

    def clean(self):
        data = super().clean()
        if not (data.get("users") or data.get("schedules") or data.get("policies")):
            raise forms.ValidationError(_("Choose at least one person, schedule or escalation policy."))
        return data


class BridgeForm(forms.Form):
    url = forms.CharField(
        label=_("Bridge link"),
        max_length=bridge.MAX_URL,
        required=False,
        widget=forms.URLInput(attrs={"size": 40, "placeholder": "https://meet.example.com/incident"}),
    )
    phone = forms.CharField(
        label=_("Dial-in"),
        max_length=bridge.MAX_PHONE,
        required=False,
        widget=forms.TextInput(attrs={"size": 30, "placeholder": "+41 44 000 00 00 PIN 1234"}),
    )

    def clean_url(self):
        try:
            return bridge.clean_url(self.cleaned_data["url"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_phone(self):
        try:
            return bridge.clean_phone(self.cleaned_data["phone"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class RespondersAdmin:
    """The incident page's responders panel and bridge form, for an incident ModelAdmin."""

    def responder_urls(self):
        return [
            path(
                "<int:pk>/responders/",
                self.admin_site.admin_view(self.responders_view),
                name="incidents_incident_responders",
            ),
            path("<int:pk>/bridge/", self.admin_site.admin_view(self.bridge_view), name="incidents_incident_bridge"),
        ]

    def responder_context(self, incident, request):
        user = request.user
        sees = user.has_perm("incidents.view_responderrequest")
        asked = ResponderRequest.objects.filter(incident=incident).select_related("user", "requested_by")
        return {
            "sees_responders": sees,
            "responder_requests": list(asked.order_by("-created_at", "-id")) if sees else [],
            "responder_escalations": list(incident.responder_escalations.order_by("created_at", "id")) if sees else [],
            "add_responders_form": AddRespondersForm(prefix="responders", user=user),
            "bridge_form": BridgeForm(
                prefix="bridge", initial={"url": incident.bridge_url, "phone": incident.bridge_phone}
            ),
        }

    def _say_errors(self, request, form):
        for errors in form.errors.values():
            for error in errors:
                self.message_user(request, error, messages.ERROR)

    def responders_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        form = AddRespondersForm(request.POST, prefix="responders", user=request.user)
        if not form.is_valid():
            self._say_errors(request, form)
            return self._back(incident, request)
        try:
            added = responders.add(
                incident,
                by=request.user,
                users=list(form.cleaned_data["users"]),
                schedules=list(form.cleaned_data["schedules"]),
                policies=list(form.cleaned_data["policies"]),
                message=form.cleaned_data["message"],
            )
        except ConflictError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return self._back(incident, request)
        if added.requests:
            done = _("Asked %(count)s person(s) to join.") % {"count": len(added.requests)}
            self.message_user(request, done, messages.SUCCESS)
            self.log_change(request, incident, str(done))
        elif not added.nobody:
            self.message_user(request, _("Everyone chosen was asked already."), messages.WARNING)
        for sentence in added.nobody:
            self.message_user(request, sentence, messages.WARNING)
        return self._back(incident, request)

    def bridge_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        form = BridgeForm(request.POST, prefix="bridge")
        if not form.is_valid():
            self._say_errors(request, form)
            return self._back(incident, request)
        changed = bridge.set_bridge(
            incident, url=form.cleaned_data["url"], phone=form.cleaned_data["phone"], by=request.user
        )
        self.message_user(request, _("Conference bridge saved."), messages.SUCCESS)
        self.log_change(request, changed, "bridge")
        return self._back(incident, request)
