from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

import rotations.admin_policies  # noqa: F401  (registers the escalation policy admin)
from people.teams import TeamScopedAdmin, TeamScopedInline, is_org_admin, managed_team_ids, visible
from project.admin import SecretsByNeed
from rotations import (
    admin_swaps,  # registers the swap request admin
    changes,
    handoffs,
    oncall,
    swaps,
    timeline,
)
from rotations.editors import ParticipantsField, RestrictionsField, describe_restrictions
from rotations.final_schedule import MAX_WINDOW
from rotations.models import CalendarFeed, HandoffNote, Layer, Override, Participant, Schedule

User = get_user_model()
PARTICIPANTS = Prefetch("participants", queryset=Participant.objects.select_related("user").order_by("position"))


def participants_text(layer):
    return ", ".join(p.user.get_username() for p in layer.participants.all())


class LayerForm(forms.ModelForm):
    """A layer with its participants (people in order) and restrictions (rows of pickers), never JSON."""

    participants = ParticipantsField()
    restrictions = RestrictionsField()

    class Meta:
        model = Layer
        fields = [
            "schedule",
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
            self.initial.setdefault("participants", [p.user for p in self.instance.participants.all()])
            self.fields["participants"].keep(self.initial["participants"])

    def save_participants(self):
        """Replace the layer's participants when they were changed (call once the layer is saved)."""
        if "participants" in self.changed_data and self.instance.pk is not None:
            self.instance.set_participants(self.cleaned_data["participants"])


class LayerInlineForm(LayerForm):
    class Meta(LayerForm.Meta):
        fields = [name for name in LayerForm.Meta.fields if name != "schedule"]


class ReadableLayerFields:
    """Who cannot change a layer reads its participants and restrictions as text, not as a form or JSON."""

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if self.has_change_permission(request, obj):
            return fields
        swap = {"participants": "participants_display", "restrictions": "restrictions_display"}
        return [tuple(swap.get(f, f) for f in row) if isinstance(row, tuple) else swap.get(row, row) for row in fields]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "participants_display", "restrictions_display"]

    @admin.display(description=_("participants"))
    def participants_display(self, obj):
        return ", ".join(timeline.person_name(p.user) for p in obj.participants.all()) if obj and obj.pk else "—"

    @admin.display(description=_("restrictions"))
    def restrictions_display(self, obj):
        lines = describe_restrictions(obj.restrictions) if obj else []
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines)) if lines else _("all the time")


class LayerInline(ReadableLayerFields, TeamScopedInline, admin.StackedInline):
    model = Layer
    form = LayerInlineForm
    extra = 0
    show_change_link = True
    fields = [
        ("name", "priority"),
        ("rotation_start", "starts_at", "ends_at"),
        ("shift_length", "shift_unit"),
        "participants",
        "restrictions",
        "change_from_link",
    ]
    readonly_fields = ["change_from_link"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(PARTICIPANTS)

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
            now, tz = timezone.now(), timezone.get_current_timezone()
            win = timeline.window(request.GET, now=now, tz=tz)
            if win.end > now + timedelta(days=timeline.DAYS + 1) or win.start < now - MAX_WINDOW:
                # Overrides of a window away from now were not prefetched with the schedule.
                oncall.forget_plan(schedule)
                oncall.load_plans(
                    [schedule], start=min(win.start, now - MAX_WINDOW), end=max(win.end, now + MAX_WINDOW)
                )
            extra_context["timeline"] = timeline.build(schedule, now=now, tz=tz, win=win)
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
                if data and not data.get("DELETE"):
                    inline_form.save_participants()
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
    participants = ParticipantsField(required=True)
    restrictions = RestrictionsField()


@admin.register(Layer)
class LayerAdmin(ReadableLayerFields, TeamScopedAdmin, admin.ModelAdmin):
    team_path = "schedule__team"
    list_display = ["name", "schedule", "priority", "shift", "starts_at", "ends_at", "participant_list"]
    list_filter = ["shift_unit", "schedule"]
    list_select_related = ["schedule"]
    search_fields = ["name", "schedule__name"]
    autocomplete_fields = ["schedule"]
    form = LayerForm
    change_form_template = "admin/rotations/layer/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(PARTICIPANTS)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.save_participants()

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
        layer = get_object_or_404(Layer.objects.select_related("schedule").prefetch_related(PARTICIPANTS), pk=layer_id)
        if not (self.has_change_permission(request, layer) and self.has_add_permission(request)):
            raise PermissionDenied
        initial = {
            "at": timezone.localtime(timezone.now()).replace(second=0, microsecond=0),
            "name": layer.name,
            "priority": layer.priority,
            "shift_length": layer.shift_length,
            "shift_unit": layer.shift_unit,
            "participants": [p.user for p in layer.participants.all()],
            "restrictions": layer.restrictions,
        }
        form = ChangeFromForm(request.POST or None, initial=initial)
        form.fields["participants"].keep(initial["participants"])
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                new = changes.continue_layer(
                    layer,
                    at=data["at"],
                    participants=data["participants"],
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


class HandoffNoteForm(forms.ModelForm):
    """A note by the person signed in, for the end of their current (or next) shift on the chosen schedule."""

    author = None

    class Meta:
        model = HandoffNote
        fields = ["schedule", "text"]

    def clean(self):
        data = super().clean()
        schedule = data.get("schedule")
        if self.instance.pk is None and schedule is not None:
            run = handoffs.own_run(schedule, self.author)
            if run is None:
                self.add_error("schedule", handoffs.no_shift_message())
            elif run.end is None:
                self.add_error("schedule", _("Your shift on this schedule has no end in sight: there is no handoff."))
            else:
                self.instance.shift_end = run.end
        return data


@admin.register(HandoffNote)
class HandoffNoteAdmin(admin.ModelAdmin):
    """Handoff notes: the person on call writes them; whoever takes over gets them at the handoff. People see their
    own and those handed to them; the schedule's team managers (and Managers) see all of their schedules'."""

    form = HandoffNoteForm
    list_display = ["schedule", "user", "shift_end", "short_text", "written_at", "handed_to", "handed_over_at"]
    list_filter = ["schedule"]
    list_select_related = ["schedule", "user", "handed_to"]
    search_fields = ["text", "schedule__name", "user__username"]
    readonly_fields = ["user", "shift_end", "written_at", "handed_to", "handed_over_at"]

    def get_queryset(self, request):
        notes = super().get_queryset(request)
        user = request.user
        if is_org_admin(user):
            return notes
        return notes.filter(Q(user=user) | Q(handed_to=user) | Q(schedule__team__in=managed_team_ids(user)))

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["schedule", "text"]
        return ["schedule", "user", "shift_end", "text", "written_at", "handed_to", "handed_over_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "schedule"] if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.author = request.user
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "schedule":
            kwargs["queryset"] = visible(Schedule.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _writes_it(self, request, obj):
        return obj is None or (obj.user_id == request.user.pk and obj.handed_over_at is None)

    def _takes_part(self, request):
        # Whoever reads schedules (Responders, Managers) may be on one.
        return request.user.is_active and request.user.is_staff and request.user.has_perm("rotations.view_schedule")

    def has_module_permission(self, request):
        return self._takes_part(request)

    def has_view_permission(self, request, obj=None):
        return self._takes_part(request)

    def has_add_permission(self, request):
        return self._takes_part(request)

    def has_change_permission(self, request, obj=None):
        return self._takes_part(request) and self._writes_it(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    @admin.display(description=_("handoff notes"))
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.user = request.user
        super().save_model(request, obj, form, change)
