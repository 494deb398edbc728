"""Stakeholder communications in the admin: groups, subscribers, wording, updates and their deliveries."""

import json

from django.conf import settings
from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from comms import (
    admin_plays,  # noqa: F401  (plays, with the stakeholder groups they inform)
    incident_panel,  # noqa: F401  (extends the incident page with the stakeholder panel)
)
from comms.models import Delivery, MessageTemplate, StakeholderGroup, StatusPageSettings, StatusUpdate, Subscriber
from comms.stakeholder_messages import update_event, update_parts
from incidents.models import Incident, Service
from people.teams import TeamScopedAdmin, TeamScopedInline
from project.admin import ReadOnlyAdmin, SecretsByNeed
from project.text import conceal


class SubscriberInline(TeamScopedInline, SecretsByNeed, admin.TabularInline):
    model = Subscriber
    secret_fields = ("address",)
    extra = 1
    fields = ["kind", "address", "language", "created_at"]
    readonly_fields = ["created_at"]


def _sample_update(group):
    """An example update of an incident this group would hear of, for the preview (nothing saved)."""
    service = group.services.first() if group.pk else None
    service = service or Service.objects.order_by("name").first() or Service(name="Website", slug="website")
    incident = Incident(
        number=0,
        service=service,
        title=str(_("Example: checkout answers 502")),
        severity=group.min_severity,
        status="acknowledged",
    )
    now = timezone.now()
    return StatusUpdate(
        incident=incident,
        phase="identified",
        message=str(_("We found the faulty deployment and are rolling it back.")),
        public=True,
        next_update_at=now + timezone.timedelta(minutes=30),
        eta=now + timezone.timedelta(hours=1),
        posted_at=now,
    )


def channel_previews(group):
    """(channel, language, subject, body) of what each channel would receive for an example update."""
    update = _sample_update(group)
    previews = []
    for language, _name in settings.LANGUAGES:
        subject, text, unsubscribe = update_parts(update, language)
        previews.append((_("E-mail"), language, subject, text + "\n\n" + unsubscribe % {"url": "https://…"}))
        previews.append((_("Slack, Teams … (Apprise)"), language, subject, text))
    previews.append((_("Webhook"), "—", "POST application/json", json.dumps(update_event(update), indent=2)))
    return previews


@admin.register(StakeholderGroup)
class StakeholderGroupAdmin(TeamScopedAdmin, SecretsByNeed, admin.ModelAdmin):
    secret_fields = ("address",)
    list_display = ["name", "team", "min_severity", "service_names", "member_count", "subscriber_count"]
    list_filter = ["team", "min_severity", "services"]
    list_select_related = ["team"]
    search_fields = ["name", "members__username", "subscribers__address"]
    filter_horizontal = ["services", "members", "plays"]
    fields = ["name", "team", "min_severity", "services", "members", "plays", "preview"]
    readonly_fields = ["preview"]
    inlines = [SubscriberInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("services")
            .annotate(_members=Count("members", distinct=True), _subscribers=Count("subscribers", distinct=True))
        )

    @admin.display(description=_("services"))
    def service_names(self, obj):
        return ", ".join(s.name for s in obj.services.all()) or _("all services")

    @admin.display(description=_("members"), ordering="_members")
    def member_count(self, obj):
        return obj._members

    @admin.display(description=_("subscribers"), ordering="_subscribers")
    def subscriber_count(self, obj):
        return obj._subscribers

    @admin.display(description=_("preview of an update, per channel"))
    def preview(self, obj):
        return format_html_join(
            "",
            '<details class="channel-preview"><summary>{} ({})</summary><p><strong>{}</strong></p>'
            '<pre style="white-space:pre-wrap">{}</pre></details>',
            channel_previews(obj),
        )


@admin.register(Subscriber)
class SubscriberAdmin(TeamScopedAdmin, SecretsByNeed, admin.ModelAdmin):
    team_path = "group__team"
    secret_fields = ("address", "secret")
    list_display = ["address", "concealed_address", "kind", "group", "language", "confirmed_at", "created_at"]
    list_filter = ["kind", "language", "group", ("confirmed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["group"]
    search_fields = ["address", "group__name"]
    readonly_fields = ["secret", "created_at"]
    show_full_result_count = False

    @admin.display(description=_("address"))
    def concealed_address(self, obj):
        return conceal(obj.kind, obj.address)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return [name for name in shown if name != "concealed_address"] if self.sees_secrets(request) else shown


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["purpose", "language", "excerpt"]
    list_filter = ["purpose", "language"]
    search_fields = ["body"]

    @admin.display(description=_("text"))
    def excerpt(self, obj):
        return obj.body[:120]


@admin.register(StatusUpdate)
class StatusUpdateAdmin(ReadOnlyAdmin):
    list_display = ["posted_at", "incident", "kind", "phase", "public", "author", "next_update_at", "delivery_count"]
    list_filter = ["phase", "kind", "public"]
    list_select_related = ["incident", "author"]
    search_fields = ["=incident__number", "message"]
    raw_id_fields = ["incident", "author"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_deliveries=Count("deliveries"))

    @admin.display(description=_("deliveries"), ordering="_deliveries")
    def delivery_count(self, obj):
        return obj._deliveries


@admin.register(Delivery)
class DeliveryAdmin(SecretsByNeed, ReadOnlyAdmin):
    # Addresses are personal data; provider answers may hold URLs with their tokens.
    secret_fields = ("address", "recipient", "contact_method", "subscriber", "error", "response", "data")
    list_display = [
        "created_at",
        "purpose",
        "incident",
        "recipient",
        "kind",
        "language",
        "status",
        "attempts",
        "sent_at",
    ]
    list_filter = ["status", "purpose", "kind", "language"]
    list_select_related = ["incident", "user"]
    search_fields = ["=incident__number", "address", "user__username", "key"]
    raw_id_fields = ["incident", "update", "user", "contact_method", "subscriber"]
    show_full_result_count = False
    ordering = ["-created_at"]

    @admin.display(description=_("to"))
    def recipient(self, obj):
        if obj.user_id:
            return format_html("{} ({})", obj.user, obj.masked_address)
        return obj.masked_address


@admin.register(StatusPageSettings)
class StatusPageSettingsAdmin(admin.ModelAdmin):
    """One row: the status page's branding over the PIQUET_ORG_* settings."""

    list_display = ["__str__", "org_name", "home_url", "support_contact"]
    fields = ["org_name", "logo_url", "home_url", "support_contact", "in_effect"]
    readonly_fields = ["in_effect"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"  # "acme.example" means https://acme.example
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("in effect (with the environment's values)"))
    def in_effect(self, obj):
        brand = StatusPageSettings.current()
        return format_html_join(
            mark_safe("<br>"),
            "{}: {}",
            [
                (_("organisation name"), brand["org_name"]),
                (_("logo URL"), brand["logo_url"] or "—"),
                (_("home link"), brand["home_url"] or "—"),
                (_("support contact"), brand["support_contact"] or "—"),
            ],
        )

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not StatusPageSettings.objects.exists()
