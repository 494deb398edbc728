"""The stakeholder panel of the incident page in the admin: roles, posting updates, the cadence, deliveries.

Comms extends the incident admin of `incidents` (a subclass, registered in its place).
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from comms import status_updates
from comms.models import Delivery, Phase, StatusUpdate, Subscriber, UpdateCadence
from delivery.models import Status as OutboxStatus
from incidents import admin as incidents_admin
from incidents import roles
from incidents.models import Incident, IncidentRole, PublicStatus, SeverityDefinition
from people.models import ContactMethod, display_name

DELIVERIES_SHOWN = 100


class PersonChoiceField(forms.ModelChoiceField):
    """People by their names, as the timeline shows them (the username only when there is no name)."""

    def label_from_instance(self, obj):
        return display_name(obj)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=())
    user = PersonChoiceField(label=_("Person"), queryset=get_user_model().objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = IncidentRole.Role.choices
        self.fields["user"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, is_staff=True)
            .order_by("first_name", "last_name", "username")
        )


class StatusUpdateForm(forms.Form):
    phase = forms.ChoiceField(label=_("Phase"), choices=Phase.choices)
    message = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        max_length=status_updates.MAX_MESSAGE_LENGTH,
        help_text=_("Plain text or Markdown."),
    )
    public = forms.BooleanField(label=_("Also on the public status page"), required=False, initial=True)
    public_title = forms.CharField(
        label=_("Public title"),
        required=False,
        max_length=status_updates.MAX_PUBLIC_TITLE,
        help_text=_(
            "What the status page calls this incident. Empty: the service's public name. Never paste the alert."
        ),
    )
    service_status = forms.ChoiceField(
        label=_("Service status on the status page"),
        choices=(),
        required=False,
        help_text=_("Proposed from the severity; say what is true now (e.g. operational again once pages load)."),
    )
    next_update_minutes = forms.IntegerField(
        label=_("Next update in (minutes)"),
        required=False,
        min_value=1,
        max_value=7 * 24 * 60,
        help_text=_("Empty: the severity's cadence."),
    )
    eta_minutes = forms.IntegerField(
        label=_("Expected resolution in (minutes)"), required=False, min_value=1, max_value=30 * 24 * 60
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_status"].choices = [("", _("— unchanged —")), *PublicStatus.choices]


def context(incident, request):
    """Extra context for the incident page."""
    now = timezone.now()
    phase = request.GET.get("phase")
    templates = status_updates.phase_templates(incident, translation.get_language() or "en")
    definition = SeverityDefinition.for_severity(incident.severity)
    initial = {
        "public": True,
        "public_title": incident.public_title,
        "service_status": definition.proposed_status if incident.is_open else PublicStatus.OPERATIONAL,
    }
    if phase in templates:
        initial.update(phase=phase, message=templates[phase])
    holders = roles.holders(incident)
    cadence = UpdateCadence.objects.filter(incident=incident).first()
    due_at = cadence.due_at if cadence and incident.is_open else None
    deliveries = list(
        Delivery.objects.filter(incident=incident)
        .select_related("user", "update")
        .order_by("-created_at", "-id")[:DELIVERIES_SHOWN]
    )
    channels = {**dict(ContactMethod.Kind.choices), **dict(Subscriber.Kind.choices)}
    for delivery in deliveries:
        delivery.channel_label = channels.get(delivery.kind, delivery.kind)
    counts = dict(Delivery.objects.filter(incident=incident).values_list("status").annotate(n=Count("id")).order_by())
    updates = StatusUpdate.objects.filter(incident=incident).select_related("author").order_by("-posted_at", "-id")
    language = translation.get_language() or "en"
    shown = list(updates[:20])
    for update in shown:
        update.shown = update.text_in(language)
    final_missing = not incident.is_open and updates.exists() and not updates.filter(phase=Phase.RESOLVED).exists()
    return {
        "role_rows": [(value, label, holders.get(value)) for value, label in IncidentRole.Role.choices],
        "missing_roles": [IncidentRole.Role(r).label for r in roles.required(incident, definition) if r not in holders],
        "role_form": RoleForm(),
        "update_form": StatusUpdateForm(initial=initial),
        "phase_choices": Phase.choices,
        "chosen_phase": phase,
        "update_due_at": due_at,
        "update_overdue": bool(due_at and due_at <= now),
        "update_due_minutes": int(abs((due_at - now).total_seconds()) // 60) if due_at else None,
        "severity_definition": definition,
        "status_updates": shown,
        "deliveries": deliveries,
        "delivery_counts": [(OutboxStatus(status).label, n) for status, n in sorted(counts.items())],
        "final_update_missing": final_missing,
        "can_post_update": request.user.has_perm("incidents.change_incident"),
    }


def _post_only(request, pk):
    if request.method != "POST":
        return None, HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("incidents.change_incident"):
        raise PermissionDenied
    return get_object_or_404(Incident.objects.visible_to(request.user), pk=pk), None


def _back(incident, anchor="stakeholders"):
    return HttpResponseRedirect(reverse("admin:incidents_incident_change", args=[incident.pk]) + f"#{anchor}")


def assign_role_view(modeladmin, request, pk):
    incident, refusal = _post_only(request, pk)
    if refusal:
        return refusal
    form = RoleForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                modeladmin.message_user(request, f"{field}: {error}", messages.ERROR)
        return _back(incident, "roles")
    try:
        holder = roles.assign(incident, role=form.cleaned_data["role"], user=form.cleaned_data["user"], by=request.user)
    except ValueError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
    else:
        done = _("%(name)s is now %(role)s.") % {
            "name": display_name(holder.user),
            "role": holder.get_role_display(),
        }
        modeladmin.message_user(request, done, messages.SUCCESS)
        modeladmin.log_change(request, incident, str(done))
    return _back(incident, "roles")


def post_update_view(modeladmin, request, pk):
    incident, refusal = _post_only(request, pk)
    if refusal:
        return refusal
    form = StatusUpdateForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                modeladmin.message_user(request, f"{form.fields[field].label}: {error}", messages.ERROR)
        return _back(incident)
    now = timezone.now()
    data = form.cleaned_data
    try:
        update = status_updates.post(
            incident,
            phase=data["phase"],
            message=data["message"],
            public=data["public"],
            next_update_at=now + timedelta(minutes=data["next_update_minutes"])
            if data["next_update_minutes"]
            else None,
            eta=now + timedelta(minutes=data["eta_minutes"]) if data["eta_minutes"] else None,
            service_status=data["service_status"],
            public_title=data["public_title"],
            by=request.user,
            now=now,
        )
    except status_updates.UpdateError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
    else:
        modeladmin.message_user(
            request, _("Status update posted (%(phase)s); it is on its way.") % {"phase": update.get_phase_display()}
        )
        modeladmin.log_change(request, incident, "status update posted")
    return _back(incident)


class IncidentAdmin(incidents_admin.IncidentAdmin):
    """The incident page with its stakeholder panel: roles, status updates, the cadence, deliveries."""

    panel_templates = ("comms/admin/incident_stakeholders.html",)

    def panel_urls(self):
        return [
            path(
                "<int:pk>/role/",
                self.admin_site.admin_view(lambda request, pk: assign_role_view(self, request, pk)),
                name="incidents_incident_role",
            ),
            path(
                "<int:pk>/status-update/",
                self.admin_site.admin_view(lambda request, pk: post_update_view(self, request, pk)),
                name="incidents_incident_status_update",
            ),
        ]

    def panel_context(self, incident, request):
        return context(incident, request)


admin.site.unregister(Incident)
admin.site.register(Incident, IncidentAdmin)
