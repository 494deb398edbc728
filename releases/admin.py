import zoneinfo
from datetime import date, timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents.models import Service
from people.teams import TeamScopedAdmin
from project import clock
from project import recurrence as window_math
from releases import approvals, gate
from releases.models import Deployment, FreezeAnnouncement, FreezeException, ReleaseWindow

STATE_COLOURS = {"allowed": "#15803d", "warned": "#ca8a04", "blocked": "#b91c1c"}


def badge(text, colour):
    return format_html(
        '<span style="background:{};color:#fff;padding:1px 6px;border-radius:3px;font-weight:600">{}</span>',
        colour,
        text,
    )


class ActiveNowFilter(admin.SimpleListFilter):
    title = _("active now")
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        now = timezone.now()
        wanted = self.value() == "yes"
        ids = [w.pk for w in queryset if window_math.is_active(w, now) == wanted]
        return queryset.filter(pk__in=ids)


@admin.register(ReleaseWindow)
class ReleaseWindowAdmin(TeamScopedAdmin, admin.ModelAdmin):
    list_display = [
        "name",
        "team",
        "kind",
        "enforcement",
        "enabled",
        "active_now",
        "next_occurrence",
        "scope",
        "time_zone",
    ]
    list_filter = ["team", "kind", "enforcement", "enabled", ActiveNowFilter, "services"]
    list_select_related = ["team"]
    search_fields = ["name", "message", "start_cron", "end_cron", "services__name", "services__slug"]
    filter_horizontal = ["services"]
    readonly_fields = ["rule_in_words", "preview", "created_at", "updated_at"]
    change_list_template = "admin/releases/releasewindow/change_list.html"
    fieldsets = [
        (None, {"fields": ["name", "team", "kind", "enforcement", "enabled", "message"]}),
        (_("Applies to"), {"fields": ["services", "environments"]}),
        (
            _("Time"),
            {
                "fields": [
                    "time_zone",
                    ("start_cron", "end_cron"),
                    ("starts_at", "ends_at"),
                    ("holiday_country", "holiday_subdivision"),
                ],
                "description": _(
                    "Give one form: recurring (start and end cron, read on the zone's wall clock, as GitLab deploy "
                    "freezes), one-off (start and end instants) or the public holidays of a country."
                ),
            },
        ),
        (_("When"), {"fields": ["rule_in_words", "preview", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services")

    @admin.display(description=_("active now"), boolean=True)
    def active_now(self, obj):
        return window_math.is_active(obj, timezone.now())

    @admin.display(description=_("current or next"))
    def next_occurrence(self, obj):
        upcoming = window_math.next_occurrences(obj, timezone.now(), count=1)
        if not upcoming:
            return "—"
        soon = upcoming[0].start - timezone.now() < timedelta(days=6)
        return window_math.describe_occurrence(upcoming[0], obj.zone, dated=not soon)

    @admin.display(description=_("services"))
    def scope(self, obj):
        names = [s.name for s in obj.services.all()]
        return ", ".join(names) if names else _("all services")

    @admin.display(description=_("rule in words"))
    def rule_in_words(self, obj):
        if obj.pk is None:
            return _("(shown once saved)")
        return window_math.describe_rule(obj)

    @admin.display(description=_("next 10 occurrences"))
    def preview(self, obj):
        if obj.pk is None or obj.form is None:
            return _("(shown once saved)")
        upcoming = window_math.next_occurrences(obj, timezone.now(), count=10)
        if not upcoming:
            return _("No occurrence in the next three years.")
        tz = obj.zone
        return format_html(
            '<ol class="release-preview">{}</ol>',
            format_html_join(
                "",
                "<li>{} <small>({})</small></li>",
                (
                    (window_math.describe_occurrence(o, tz, dated=True), _("%(hours)s h") % {"hours": _hours(o)})
                    for o in upcoming
                ),
            ),
        )

    def get_urls(self):
        return [
            path("week/", self.admin_site.admin_view(self.week_view), name="releases_releasewindow_week"),
            *super().get_urls(),
        ]

    def week_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        services = list(Service.objects.order_by("name"))
        slug = request.GET.get("service") or (services[0].slug if services else "")
        service = next((s for s in services if s.slug == slug), None)
        tz_name = request.GET.get("tz") or settings.TIME_ZONE
        errors = []
        try:
            tz = zoneinfo.ZoneInfo(tz_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(_("Unknown time zone %(zone)s.") % {"zone": repr(tz_name)})
            tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
            tz_name = settings.TIME_ZONE
        today = timezone.now().astimezone(tz).date()
        try:
            start = date.fromisoformat(request.GET["week"]) if request.GET.get("week") else today
        except ValueError:
            errors.append(_("The week must be a date such as 2026-11-23."))
            start = today
        if not clock.MIN_YEAR <= start.year <= clock.MAX_YEAR - 1:
            errors.append(
                _("The week must lie between the years %(low)s and %(high)s.")
                % {"low": clock.MIN_YEAR, "high": clock.MAX_YEAR - 1}
            )
            start = today
        start = window_math.week_start(start)
        environment = request.GET.get("environment", "")
        if slug and service is None:
            errors.append(_("Unknown service %(slug)s.") % {"slug": repr(slug)})
        days = gate.week_grid(service=service, start=start, tz=tz, environment=environment) if service else []
        incidents = gate.load_incidents(service) if service else []
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Deploys per week"),
            "services": services,
            "service": service,
            "environment": environment,
            "tz_name": tz_name,
            "week": start,
            "previous_week": start - timedelta(days=7),
            "next_week": start + timedelta(days=7),
            "hours": range(24),
            "days": [
                (day, [(t.astimezone(tz), state, ", ".join(names)) for t, state, names in slots]) for day, slots in days
            ],
            "colours": STATE_COLOURS,
            "incidents": incidents,
            "errors": errors,
        }
        return TemplateResponse(request, "admin/releases/releasewindow/week.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "week_url": reverse("admin:releases_releasewindow_week")}
        return super().changelist_view(request, extra_context=extra_context)


def _hours(occurrence):
    hours = (occurrence.end - occurrence.start).total_seconds() / 3600
    return f"{hours:g}"


class ExceptionStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("pending", _("Waiting for approval")),
            ("current", _("Approved and current")),
            ("expired", _("Expired")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "pending":
            return queryset.filter(approved_by__isnull=True, ends_at__gt=now)
        if self.value() == "current":
            return queryset.current(now)
        if self.value() == "expired":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(FreezeException)
class FreezeExceptionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "reason_short",
        "service_list",
        "requested_by",
        "approval",
        "starts_at",
        "ends_at",
        "incident",
    ]
    list_filter = [ExceptionStatusFilter, "services"]
    list_select_related = ["requested_by", "approved_by", "incident"]
    search_fields = ["reason", "services__name", "requested_by__username"]
    autocomplete_fields = ["incident"]
    filter_horizontal = ["services"]
    readonly_fields = ["requested_by", "approved_by", "approved_at", "created_at"]
    fields = ["services", "reason", "starts_at", "ends_at", "incident", *readonly_fields]
    actions = ["approve_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services")

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_approved:
            return ["services", "reason", "starts_at", "ends_at", "incident", *self.readonly_fields]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.requested_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=_("reason"))
    def reason_short(self, obj):
        return obj.reason if len(obj.reason) <= 80 else obj.reason[:79] + "…"

    @admin.display(description=_("services"))
    def service_list(self, obj):
        return ", ".join(s.name for s in obj.services.all())

    @admin.display(description=_("approval"))
    def approval(self, obj):
        if obj.ends_at <= timezone.now():
            return badge(_("expired"), "#6b7280")
        if obj.is_approved:
            return badge(_("approved by %(user)s") % {"user": obj.approved_by}, "#15803d")
        return badge(_("waiting"), "#ca8a04")

    @admin.action(description=_("Approve the selected exceptions"), permissions=["change"])
    def approve_selected(self, request, queryset):
        done = 0
        for exception in queryset:
            try:
                approvals.approve_exception(exception, by=request.user)
            except (approvals.ApprovalForbidden, approvals.ApprovalConflict) as exc:
                self.message_user(request, f"#{exception.pk}: {exc}", messages.WARNING)
                continue
            self.log_change(request, exception, _("Approved"))
            done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d exception approved.", "%(count)d exceptions approved.", done) % {"count": done},
                messages.SUCCESS,
            )


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["deployed_at", "service", "version", "environment", "decision_badge", "flagged", "actor"]
    list_filter = ["decision", "flagged", "environment", "service", ("deployed_at", admin.DateFieldListFilter)]
    list_select_related = ["service"]
    search_fields = ["version", "actor", "service__name", "service__slug", "url"]
    date_hierarchy = "deployed_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in Deployment._meta.fields if f.name != "id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("gate decision"), ordering="decision")
    def decision_badge(self, obj):
        colour = {"allowed": "#15803d", "exception": "#2563eb", "blocked": "#b91c1c"}.get(obj.decision, "#555")
        return badge(obj.get_decision_display(), colour)


@admin.register(FreezeAnnouncement)
class FreezeAnnouncementAdmin(admin.ModelAdmin):
    list_display = ["window", "kind", "occurrence_start", "occurrence_end", "sent_at", "has_error"]
    list_filter = ["kind", "window"]
    list_select_related = ["window"]
    search_fields = ["window__name", "error"]
    readonly_fields = ["window", "kind", "occurrence_start", "occurrence_end", "created_at", "sent_at", "error"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("failed"), boolean=True)
    def has_error(self, obj):
        return bool(obj.error)
