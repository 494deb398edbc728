"""Trading shifts in the admin: the swap requests, the "ask for cover" and "override my shift" forms.

Responders read the requests of the schedules they are on; they ask, answer and withdraw through forms and
buttons that call rotations.swaps (never by editing the row).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from people.teams import TeamScopedAdmin, visible
from project.api import ConflictError
from rotations import swaps
from rotations.models import Participant, Schedule, SwapRequest

User = get_user_model()


def _person_label(user):
    return swaps.person_name(user)


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _person_label(obj)


class PeopleChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return _person_label(obj)


def add_errors(form, exc):
    """A use case's ValidationError or PermissionDenied as the form's errors."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))


class AskForm(forms.Form):
    schedule = forms.ModelChoiceField(label=_("schedule"), queryset=Schedule.objects.none())
    start = forms.SplitDateTimeField(label=_("start"), widget=admin.widgets.AdminSplitDateTime)
    end = forms.SplitDateTimeField(
        label=_("end"), widget=admin.widgets.AdminSplitDateTime, help_text=SwapRequest.end.field.help_text
    )
    offered_to = PeopleChoice(
        label=_("offered to"),
        queryset=User.objects.none(),
        required=False,
        help_text=SwapRequest.offered_to.field.help_text,
    )
    note = forms.CharField(
        label=_("note"), required=False, max_length=swaps.MAX_NOTE, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        mine = Participant.objects.filter(user=user).values("layer__schedule_id")
        self.fields["schedule"].queryset = visible(Schedule.objects.filter(pk__in=mine), user).order_by("name")
        colleagues = Participant.objects.filter(layer__schedule__in=mine).exclude(user=user).values("user_id")
        self.fields["offered_to"].queryset = User.objects.filter(pk__in=colleagues).order_by("username")


class OverrideMineForm(forms.Form):
    user = PersonChoice(label=_("hand to"), queryset=User.objects.none())
    start = forms.SplitDateTimeField(label=_("start"), widget=admin.widgets.AdminSplitDateTime)
    end = forms.SplitDateTimeField(
        label=_("end"),
        widget=admin.widgets.AdminSplitDateTime,
        help_text=_("Exclusive: the override covers [start, end)."),
    )
    reason = forms.CharField(label=_("reason"), required=False, max_length=500)

    def __init__(self, *args, schedule, user, **kwargs):
        super().__init__(*args, **kwargs)
        others = Participant.objects.filter(layer__schedule=schedule).exclude(user=user).values("user_id")
        self.fields["user"].queryset = User.objects.filter(pk__in=others).order_by("username")


def override_mine_view(model_admin, request, object_id):
    """The schedule page's "override my shift": a participant hands time where they are on call to someone else
    on the rotation (mounted on the schedule admin)."""
    schedule = get_object_or_404(visible(Schedule.objects.all(), request.user), pk=object_id)
    if not swaps.takes_part(request.user, schedule):
        raise PermissionDenied
    form = OverrideMineForm(request.POST or None, schedule=schedule, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            override = swaps.create_override(
                schedule,
                by=request.user,
                user=data["user"],
                start=data["start"],
                end=data["end"],
                reason=data["reason"],
            )
        except (ValidationError, PermissionDenied) as exc:
            add_errors(form, exc)
        else:
            model_admin.log_addition(request, override, [{"added": {}}])
            model_admin.message_user(
                request,
                _("%(name)s is on call for you from %(start)s to %(end)s.")
                % {
                    "name": _person_label(data["user"]),
                    "start": swaps.local_time(data["start"]),
                    "end": swaps.local_time(data["end"]),
                },
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:rotations_schedule_change", args=[schedule.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Override my shift on %(schedule)s") % {"schedule": schedule.name},
        "form": form,
        "media": model_admin.media + form.media,
        "opts": Schedule._meta,
        "original": schedule,
    }
    return TemplateResponse(request, "admin/rotations/schedule/override_mine.html", context)


@admin.register(SwapRequest)
class SwapRequestAdmin(TeamScopedAdmin, admin.ModelAdmin):
    team_path = "schedule__team"
    list_display = ["requester", "schedule", "start", "end", "state_now", "offered", "taken_by", "created_at"]
    list_filter = ["state", ("schedule", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["requester", "schedule", "taken_by"]
    search_fields = ["requester__username", "requester__first_name", "requester__last_name", "schedule__name", "note"]
    date_hierarchy = "start"
    fields = [
        "schedule",
        "requester",
        "start",
        "end",
        "offered",
        "note",
        "state_now",
        "taken_by",
        "override",
        "declined",
        "created_at",
        "decided_at",
    ]
    readonly_fields = fields
    change_form_template = "admin/rotations/swaprequest/change_form.html"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("offered_to", "declined_by")
        return swaps.visible_requests(queryset, request.user)

    @admin.display(description=_("state"), ordering="state")
    def state_now(self, obj):
        return SwapRequest.State(obj.current_state()).label

    @admin.display(description=_("offered to"))
    def offered(self, obj):
        return ", ".join(_person_label(u) for u in obj.offered_to.all()) or _("everyone else on the rotation")

    @admin.display(description=_("declined by"))
    def declined(self, obj):
        return ", ".join(_person_label(u) for u in obj.declined_by.all()) or "—"

    def has_add_permission(self, request):
        # Anyone on a rotation asks for cover, through the form below; it refuses time that is not theirs. (Not
        # asked here whether they are on one: this runs for the side bar of every admin page.)
        return self.has_view_permission(request)

    def has_change_permission(self, request, obj=None):
        return False  # the state changes by the buttons only

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/answer/<str:answer>/", view(self.answer_view), name="rotations_swaprequest_answer"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request) or not Participant.objects.filter(user=request.user).exists():
            raise PermissionDenied
        initial = {"schedule": request.GET.get("schedule")} if request.GET.get("schedule", "").isdigit() else {}
        form = AskForm(request.POST or None, user=request.user, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                swap = swaps.ask(
                    data["schedule"],
                    by=request.user,
                    start=data["start"],
                    end=data["end"],
                    offered_to=data["offered_to"],
                    note=data["note"],
                )
            except (ValidationError, PermissionDenied) as exc:
                add_errors(form, exc)
            else:
                self.log_addition(request, swap, [{"added": {}}])
                self.message_user(request, _("Your request for cover is sent."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:rotations_swaprequest_change", args=[swap.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Ask for cover"),
            "form": form,
            "media": self.media + form.media,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rotations/swaprequest/ask.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        swap = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if swap is not None:
            may_answer, may_withdraw = swaps.may_answer(swap, request.user)
            extra_context.update(may_answer=may_answer, may_withdraw=may_withdraw)
        return super().change_view(request, object_id, form_url, extra_context)

    ANSWERS = {
        "accept": (swaps.accept, _("You take this shift: the override is made.")),
        "decline": (swaps.decline, _("You declined this request.")),
        "withdraw": (swaps.withdraw, _("The request is withdrawn.")),
    }

    def answer_view(self, request, object_id, answer):
        swap = self.get_object(request, str(object_id))
        if swap is None or answer not in self.ANSWERS:
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:rotations_swaprequest_change", args=[swap.pk]))
        if request.method != "POST":
            return back
        use_case, done = self.ANSWERS[answer]
        try:
            use_case(swap, by=request.user)
        except (PermissionDenied, ConflictError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.log_change(request, swap, [{"changed": {"fields": ["state"]}}])
            self.message_user(request, done, messages.SUCCESS)
        return back
