from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from comms.models import (
    ContactMethod,
    Delivery,
    MessageTemplate,
    NotificationRule,
    Profile,
    StakeholderGroup,
    StatusUpdate,
    Subscriber,
)
from comms.notify import send_test_notification
from project.admin import ReadOnlyAdmin


def _report(modeladmin, request, methods):
    for method in methods:
        result = send_test_notification(method)
        if result.ok:
            modeladmin.message_user(
                request, _("Test sent to %(method)s of %(user)s.") % {"method": method, "user": method.user}
            )
        else:
            modeladmin.message_user(
                request,
                _("Test to %(method)s of %(user)s failed: %(error)s")
                % {"method": method, "user": method.user, "error": result.error},
                messages.ERROR,
            )


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "label", "masked_address", "enabled"]
    list_filter = ["kind", "enabled"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "label", "address"]
    autocomplete_fields = ["user"]
    readonly_fields = ["secret", "created_at"]
    actions = ["send_test"]

    @admin.action(description=_("Send a test notification"))
    def send_test(self, request, queryset):
        _report(self, request, queryset.select_related("user"))


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ["user", "contact_method", "delay_minutes"]
    list_select_related = ["user", "contact_method"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user", "contact_method"]


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    extra = 1
    max_num = 1


class ContactMethodInline(admin.TabularInline):
    model = ContactMethod
    extra = 0
    fields = ["kind", "address", "label", "enabled"]


class NotificationRuleInline(admin.TabularInline):
    model = NotificationRule
    extra = 0
    fields = ["contact_method", "delay_minutes"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "contact_method":
            user_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = (
                ContactMethod.objects.filter(user_id=user_id) if user_id else ContactMethod.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [ProfileInline, ContactMethodInline, NotificationRuleInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "role_names"]
    actions = ["send_test"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def role_names(self, obj):
        return ", ".join(sorted(g.name for g in obj.groups.all()))

    @admin.action(description=_("Send a test notification to every enabled contact method"))
    def send_test(self, request, queryset):
        methods = ContactMethod.objects.filter(user__in=queryset, enabled=True).select_related("user")
        if not methods:
            self.message_user(
                request, _("None of the selected people has an enabled contact method."), messages.WARNING
            )
        _report(self, request, methods)


# --- stakeholder communications -------------------------------------------------------


class SubscriberInline(admin.TabularInline):
    model = Subscriber
    extra = 1
    fields = ["kind", "address", "language", "created_at"]
    readonly_fields = ["created_at"]


def _sample_update(group):
    """An example update of an incident this group would hear of, for the preview (nothing saved)."""
    from incidents.models import Incident, Service

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
    import json

    from comms.stakeholder_messages import _update_parts, update_event

    update = _sample_update(group)
    previews = []
    for language, _name in settings_languages():
        subject, text, unsubscribe = _update_parts(update, language)
        previews.append((_("E-mail"), language, subject, text + "\n\n" + unsubscribe % {"url": "https://…"}))
        previews.append((_("Slack, Teams … (Apprise)"), language, subject, text))
    previews.append((_("Webhook"), "—", "POST application/json", json.dumps(update_event(update), indent=2)))
    return previews


def settings_languages():
    from django.conf import settings

    return settings.LANGUAGES


@admin.register(StakeholderGroup)
class StakeholderGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "min_severity", "service_names", "member_count", "subscriber_count"]
    list_filter = ["min_severity", "services"]
    search_fields = ["name", "members__username", "subscribers__address"]
    filter_horizontal = ["services", "members"]
    fields = ["name", "min_severity", "services", "members", "preview"]
    readonly_fields = ["preview"]
    inlines = [SubscriberInline]

    def get_queryset(self, request):
        from django.db.models import Count

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
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["address", "kind", "group", "language", "confirmed_at", "created_at"]
    list_filter = ["kind", "language", "group", ("confirmed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["group"]
    search_fields = ["address", "group__name"]
    readonly_fields = ["secret", "created_at"]
    show_full_result_count = False


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
        from django.db.models import Count

        return super().get_queryset(request).annotate(_deliveries=Count("deliveries"))

    @admin.display(description=_("deliveries"), ordering="_deliveries")
    def delivery_count(self, obj):
        return obj._deliveries


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
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
