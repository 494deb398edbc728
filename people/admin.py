"""People in the admin: their contact methods, notification rules and preferences."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from people.models import ContactMethod, NotificationRule, Profile


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "label", "masked_address", "enabled"]
    list_filter = ["kind", "enabled"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "label", "address"]
    autocomplete_fields = ["user"]
    readonly_fields = ["secret", "created_at"]


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

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def role_names(self, obj):
        return ", ".join(sorted(g.name for g in obj.groups.all()))
