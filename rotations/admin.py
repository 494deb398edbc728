from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

import rotations.admin_policies  # noqa: F401  (registers the escalation policy admin)
from people.teams import TeamScopedAdmin, TeamScopedInline
from project.admin import SecretsByNeed
from rotations import (
    admin_swaps,  # registers the swap request admin
    changes,
    oncall,
    swaps,
    timeline,
)
from rotations.final_schedule import MAX_WINDOW
from rotations.models import CalendarFeed, Layer, Override, Participant, Schedule

User = get_user_model()
SEPARATORS = str.maketrans({",": " ", "\n": " ", "\r": " ", ";": " "})


def parse_usernames(text):
    """Users named in `text` (commas or new lines), in order, repeats kept."""
    names = [name for name in (text or "").translate(SEPARATORS).split(" ") if name]
    found = {u.get_username(): u for u in User.objects.filter(username__in=names)}
    missing = [name for name in names if name not in found]
    if missing:
        raise ValidationError(_("Unknown username(s): %(names)s.") % {"names": ", ".join(dict.fromkeys(missing))})
    return [found[name] for name in names]


def participants_text(layer):
    return ", ".join(p.user.get_username() for p in layer.participants.all())


PARTICIPANTS_HELP = _(
    "Usernames in rotation order, separated by commas or new lines; a person may appear more than once. "
    "Shift k belongs to the k-th name (counting round)."
)


class LayerInlineForm(forms.ModelForm):
    participant_usernames = forms.CharField(
        label=_("participants"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=PARTICIPANTS_HELP,
    )

    class Meta:
        model = Layer
        fields = [
            "name",
            "priority",
            "rotation_start",
            "starts_at",
            "ends_at",
            "shift_length",
            "shift_unit",
            "restrictions",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("participant_usernames", participants_text(self.instance))

    def clean_participant_usernames(self):
        return parse_usernames(self.cleaned_data.get("participant_usernames"))


class LayerInline(TeamScopedInline, admin.StackedInline):
    model = Layer
    form = LayerInlineForm
    extra = 0
    show_change_link = True
    fields = [
        ("name", "priority"),
        ("rotation_start", "starts_at", "ends_at"),
        ("shift_length", "shift_unit"),
        "participant_usernames",
        "restrictions",
        "change_from_link",
    ]
    readonly_fields = ["change_from_link"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("participants", queryset=Participant.objects.select_related("user").order_by("position"))
            )
        )

    @admin.display(description=_("change from…"))
    def change_from_link(self, obj):
        if not obj.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:rotations_layer_change_from", args=[obj.pk]),
            _("End this layer at an instant and continue it with new settings"),
        )


class OverrideInline(TeamScopedInline, admin.TabularInline):
    model = Override
    extra = 0
    fields = ["user", "start", "end", "reason", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]
    autocomplete_fields = ["user"]
    ordering = ["-start"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "created_by")


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 1
    fields = ["position", "user"]
    autocomplete_fields = ["user"]
    ordering = ["position"]


def _changelist_queryset(queryset):
    now = timezone.now()
    return oncall.prefetch_for_oncall(
        queryset, start=now - MAX_WINDOW, end=now + timedelta(days=timeline.DAYS + 1)
    ).annotate(_layers=Count("layers", distinct=True))


@admin.register(Schedule)
class ScheduleAdmin(TeamScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "team", "time_zone", "on_call_now", "coverage", "layer_count"]
    list_filter = ["team", "time_zone"]
    list_select_related = ["team"]
    search_fields = ["name", "description"]
    inlines = [LayerInline, OverrideInline]
    change_form_template = "admin/rotations/schedule/change_form.html"
    fields = ["name", "team", "description", "time_zone"]
    view_on_site = False

    def get_queryset(self, request):
        return _changelist_queryset(super().get_queryset(request))

    @admin.display(description=_("layers"), ordering="_layers")
    def layer_count(self, obj):
        return obj._layers

    @admin.display(description=_("on call now"))
    def on_call_now(self, obj):
        users = oncall.users_on_call(obj)
        if not users:
            return format_html('<span style="color:{}">{}</span>', timeline.GAP_COLOUR, _("nobody"))
        return ", ".join(timeline.person_name(u) for u in users)

    @admin.display(description=_("next 14 days"))
    def coverage(self, obj):
        gaps = timeline.gaps_ahead(obj)
        if not gaps:
            return format_html('<span style="color:#15803d">{}</span>', _("covered"))
        hours = sum((g.end - g.start for g in gaps), timedelta()).total_seconds() / 3600
        text = ngettext("⚠ %(count)d gap (%(hours).1f h)", "⚠ %(count)d gaps (%(hours).1f h)", len(gaps)) % {
            "count": len(gaps),
            "hours": hours,
        }
        return format_html('<strong style="color:{}">{}</strong>', timeline.GAP_COLOUR, text)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        schedule = self.get_object(request, object_id)
        if schedule is not None:
            extra_context["timeline"] = timeline.build(schedule)
            extra_context["feeds"] = list(schedule.calendar_feeds.all())
            extra_context["takes_part"] = swaps.takes_part(request.user, schedule)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/override-my-shift/",
                self.admin_site.admin_view(self.override_mine_view),
                name="rotations_schedule_override_mine",
            ),
            *super().get_urls(),
        ]

    def override_mine_view(self, request, object_id):
        return admin_swaps.override_mine_view(self, request, object_id)

    def save_formset(self, request, form, formset, change):
        if formset.model is Override:
            for inline_form in formset.forms:
                if inline_form.instance.pk is None and inline_form.has_changed():
                    inline_form.instance.created_by = request.user
            formset.save()
            return
        if formset.model is Layer:
            formset.save()
            for inline_form in formset.forms:
                data = getattr(inline_form, "cleaned_data", None)
                if not data or data.get("DELETE") or inline_form.instance.pk is None:
                    continue
                if "participant_usernames" in inline_form.changed_data:
                    inline_form.instance.set_participants(data["participant_usernames"])
            return
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        oncall.forget_plan(form.instance)


class ChangeFromForm(forms.Form):
    at = forms.SplitDateTimeField(
        label=_("from"),
        widget=admin.widgets.AdminSplitDateTime,
        help_text=_("The old layer ends here and the new one begins; earlier shifts stay as they were."),
    )
    name = forms.CharField(label=_("name"), max_length=200)
    priority = forms.IntegerField(label=_("priority"))
    shift_length = forms.IntegerField(label=_("shift length"), min_value=1)
    shift_unit = forms.ChoiceField(label=_("shift unit"), choices=Layer.Unit.choices)
    participant_usernames = forms.CharField(
        label=_("participants"), widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), help_text=PARTICIPANTS_HELP
    )
    restrictions = forms.JSONField(
        label=_("restrictions"), required=False, help_text=Layer.restrictions.field.help_text
    )

    def clean_participant_usernames(self):
        return parse_usernames(self.cleaned_data.get("participant_usernames"))


@admin.register(Layer)
class LayerAdmin(TeamScopedAdmin, admin.ModelAdmin):
    team_path = "schedule__team"
    list_display = ["name", "schedule", "priority", "shift", "starts_at", "ends_at", "participant_list"]
    list_filter = ["shift_unit", "schedule"]
    list_select_related = ["schedule"]
    search_fields = ["name", "schedule__name"]
    autocomplete_fields = ["schedule"]
    inlines = [ParticipantInline]
    change_form_template = "admin/rotations/layer/change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("participants", queryset=Participant.objects.select_related("user").order_by("position"))
            )
        )

    @admin.display(description=_("shift"))
    def shift(self, obj):
        return f"{obj.shift_length} {obj.get_shift_unit_display()}"

    @admin.display(description=_("participants"))
    def participant_list(self, obj):
        return participants_text(obj)

    def get_urls(self):
        return [
            path(
                "<int:layer_id>/change-from/",
                self.admin_site.admin_view(self.change_from_view),
                name="rotations_layer_change_from",
            ),
            *super().get_urls(),
        ]

    def change_from_view(self, request, layer_id):
        layer = get_object_or_404(Layer.objects.select_related("schedule"), pk=layer_id)
        if not (self.has_change_permission(request, layer) and self.has_add_permission(request)):
            raise PermissionDenied
        initial = {
            "at": timezone.localtime(timezone.now()).replace(second=0, microsecond=0),
            "name": layer.name,
            "priority": layer.priority,
            "shift_length": layer.shift_length,
            "shift_unit": layer.shift_unit,
            "participant_usernames": participants_text(layer),
            "restrictions": layer.restrictions,
        }
        form = ChangeFromForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                new = changes.continue_layer(
                    layer,
                    at=data["at"],
                    participants=data["participant_usernames"],
                    name=data["name"],
                    priority=data["priority"],
                    shift_length=data["shift_length"],
                    shift_unit=data["shift_unit"],
                    restrictions=data["restrictions"] or [],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.log_change(request, layer, [{"changed": {"fields": ["ends_at"]}}])
                self.log_addition(request, new, [{"added": {}}])
                self.message_user(
                    request,
                    _("“%(old)s” now ends at %(at)s and continues as a new layer.")
                    % {"old": layer.name, "at": timezone.localtime(data["at"]).strftime("%Y-%m-%d %H:%M %Z")},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:rotations_schedule_change", args=[layer.schedule_id]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change “%(layer)s” from…") % {"layer": layer.name},
            "layer": layer,
            "form": form,
            "media": self.media + form.media,
            "opts": self.model._meta,
            "original": layer,
        }
        return TemplateResponse(request, "admin/rotations/layer/change_from.html", context)


@admin.register(Override)
class OverrideAdmin(TeamScopedAdmin, admin.ModelAdmin):
    team_path = "schedule__team"
    list_display = ["user", "schedule", "start", "end", "reason", "created_by", "created_at"]
    list_filter = ["schedule"]
    list_select_related = ["user", "schedule", "created_by"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "schedule__name", "reason"]
    autocomplete_fields = ["schedule", "user"]
    readonly_fields = ["created_by", "created_at"]
    date_hierarchy = "start"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(TeamScopedAdmin, SecretsByNeed, admin.ModelAdmin):
    team_path = "schedule__team"
    secret_fields = ("feed_url", "token")

    def sees_secrets(self, request, obj=None):
        # A person's own calendar is theirs to see.
        return super().sees_secrets(request, obj) or (obj is not None and obj.user_id == request.user.pk)

    list_display = ["__str__", "schedule", "user", "created_by", "created_at", "feed_url"]
    list_select_related = ["schedule", "user", "created_by"]
    list_filter = ["schedule"]
    search_fields = ["schedule__name", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["schedule", "user"]
    fields = ["schedule", "user", "feed_url", "created_by", "created_at"]
    readonly_fields = ["feed_url", "created_by", "created_at"]
    actions = ["revoke_and_replace"]

    @admin.display(description=_("secret URL (paste into a calendar app)"))
    def feed_url(self, obj):
        if not obj.pk:
            return _("(shown once saved)")
        return format_html('<input type="text" readonly value="{}" size="70" onclick="this.select()">', obj.url)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Revoke the URL and issue a new one"), permissions=["change"])
    def revoke_and_replace(self, request, queryset):
        for feed in queryset:
            feed.regenerate_token()
        self.message_user(
            request,
            ngettext("%(count)d calendar URL replaced.", "%(count)d calendar URLs replaced.", len(queryset))
            % {"count": len(queryset)},
            messages.SUCCESS,
        )
