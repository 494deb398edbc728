"""People in the admin: their contact methods, notification rules and preferences."""

import functools
import zoneinfo

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from people.models import ContactMethod, NotificationRule, Profile, Team, TeamMembership, display_name
from people.teams import is_org_admin, managed_team_ids, manages
from project.admin import sees_secrets
from project.audit import readable_entries
from project.roles import ROLE_NAMES


class OwnRowsOnly:
    """Everyone keeps their own rows (contact methods, rules, profile) themselves; Managers keep everyone's.

    A person who is not a Manager sees, adds, changes and deletes only rows of their own, without a
    "person" field: the row is theirs.
    """

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        return rows if sees_secrets(request.user) else rows.filter(user=request.user)

    def _own(self, request, obj):
        return obj is None or obj.user_id == request.user.pk

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) if sees_secrets(request.user) else self._own(request, obj)

    def has_add_permission(self, request):
        return super().has_add_permission(request) or request.user.is_staff

    def has_change_permission(self, request, obj=None):
        if sees_secrets(request.user):
            return super().has_change_permission(request, obj)
        return request.user.is_staff and self._own(request, obj)

    def has_delete_permission(self, request, obj=None):
        if sees_secrets(request.user):
            return super().has_delete_permission(request, obj)
        return request.user.is_staff and self._own(request, obj)

    def get_exclude(self, request, obj=None):
        own = () if sees_secrets(request.user) else ("user",)
        return (*(super().get_exclude(request, obj) or ()), *own)

    def get_autocomplete_fields(self, request):
        fields = super().get_autocomplete_fields(request)
        return fields if sees_secrets(request.user) else [f for f in fields if f != "user"]

    def save_model(self, request, obj, form, change):
        if not sees_secrets(request.user):
            obj.user = request.user
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "contact_method" and not sees_secrets(request.user):
            kwargs["queryset"] = ContactMethod.objects.filter(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ContactMethod)
class ContactMethodAdmin(OwnRowsOnly, admin.ModelAdmin):
    list_display = ["user", "kind", "label", "masked_address", "enabled"]
    list_filter = ["kind", "enabled"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "label", "address"]
    autocomplete_fields = ["user"]
    readonly_fields = ["secret", "created_at"]


@admin.register(NotificationRule)
class NotificationRuleAdmin(OwnRowsOnly, admin.ModelAdmin):
    list_display = ["user", "contact_method", "delay_minutes"]
    list_select_related = ["user", "contact_method"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user", "contact_method"]


class ProfileForm(forms.ModelForm):
    time_zone = forms.TypedChoiceField(
        label=_("time zone"),
        required=False,
        choices=(),
        help_text=Profile._meta.get_field("time_zone").help_text,
    )

    class Meta:
        model = Profile
        fields = ["language", "time_zone", "notify_on_acknowledge", "notify_on_resolve", "heads_up_minutes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", _("— the installation's —")), *((z, z) for z in zone_names())]


@functools.cache
def zone_names():
    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


@admin.register(Profile)
class ProfileAdmin(OwnRowsOnly, admin.ModelAdmin):
    """ "My profile": a person's language, time zone and notification preferences."""

    form = ProfileForm
    list_display = ["user", "language", "time_zone", "notify_on_acknowledge", "notify_on_resolve", "heads_up_minutes"]
    list_filter = ["language"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]

    def changelist_view(self, request, extra_context=None):
        if sees_secrets(request.user):
            return super().changelist_view(request, extra_context)
        # Everyone else has one profile: theirs, made on first visit.
        profile, _created = Profile.objects.get_or_create(user=request.user)
        return HttpResponseRedirect(reverse("admin:people_profile_change", args=[profile.pk]))

    def get_fields(self, request, obj=None):
        own = [] if not sees_secrets(request.user) else ["user"]
        return [*own, "language", "time_zone", "notify_on_acknowledge", "notify_on_resolve", "heads_up_minutes"]


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


class PersonForm(forms.ModelForm):
    """What a Manager sets of a person: who they are, whether they may sign in, and their Piquet roles."""

    roles = forms.ModelMultipleChoiceField(
        label=_("Piquet roles"),
        queryset=Group.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A person with a role signs in to the admin; one without none. Send a password-reset link."),
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].queryset = Group.objects.filter(name__in=ROLE_NAMES).order_by("name")
        if self.instance.pk:
            self.initial["roles"] = list(self.instance.groups.filter(name__in=ROLE_NAMES))


class ResetLinkForm(PasswordResetForm):
    """Django's reset e-mail, sent to one chosen person, also one who never had a password."""

    def __init__(self, user, **kwargs):
        super().__init__(data={"email": user.email}, **kwargs)
        self.user = user

    def get_users(self, email):
        return [self.user] if self.user.is_active else []


def give_roles(user, roles):
    """Set a person's Piquet roles (other groups stay); admin access follows from holding one."""
    with transaction.atomic():
        kept = list(user.groups.exclude(name__in=ROLE_NAMES))
        user.groups.set([*kept, *roles])
        staff = user.is_superuser or bool(roles)
        if user.is_staff != staff:
            user.is_staff = staff
            user.save(update_fields=["is_staff"])


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Superusers see Django's whole user page; everyone else edits people, never privileges or passwords."""

    inlines = [ProfileInline, ContactMethodInline, NotificationRuleInline]
    list_display = ["username", "email", "first_name", "last_name", "is_active", "role_names"]
    list_filter = ["is_active", "groups"]
    actions = ["send_password_reset"]
    person_fieldsets = (
        (None, {"fields": ("username",)}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Access"), {"fields": ("is_active", "roles")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def role_names(self, obj):
        return ", ".join(sorted(g.name for g in obj.groups.all()))

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.person_fieldsets

    def get_form(self, request, obj=None, **kwargs):
        if request.user.is_superuser:
            return super().get_form(request, obj, **kwargs)
        kwargs["fields"] = None
        return admin.ModelAdmin.get_form(self, request, obj, form=PersonForm, **kwargs)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser and not change:
            obj.set_unusable_password()  # they choose one through the reset link
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "roles" in form.cleaned_data:
            give_roles(form.instance, list(form.cleaned_data["roles"]))

    def _touches_a_superuser(self, request, obj):
        return obj is not None and obj.is_superuser and not request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        if self._touches_a_superuser(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if self._touches_a_superuser(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        # Only a superuser sets someone's password; others send a reset link (or change their own).
        if not request.user.is_superuser and str(request.user.pk) != str(id):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    @admin.action(description=_("Send a password-reset link"), permissions=["change"])
    def send_password_reset(self, request, queryset):
        base = settings.PIQUET_BASE_URL
        sent = 0
        for user in queryset.exclude(email=""):
            if self._touches_a_superuser(request, user):
                continue
            form = ResetLinkForm(user)
            if form.is_valid() and user.is_active:
                form.save(
                    request=request,
                    domain_override=base.split("://", 1)[-1],
                    use_https=base.startswith("https://"),
                )
                sent += 1
        self.message_user(
            request,
            ngettext("Sent %(count)d password-reset link.", "Sent %(count)d password-reset links.", sent)
            % {"count": sent},
            messages.SUCCESS if sent else messages.WARNING,
        )


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    fields = ["user", "role"]
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def _manages(self, request, obj):
        return obj is not None and obj.pk in managed_team_ids(request.user)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) or self._manages(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or self._manages(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) or self._manages(request, obj)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Organisation administrators create teams; a team's managers keep its members."""

    list_display = ["name", "slug", "member_count", "manager_names"]
    search_fields = ["name", "slug", "members__username", "members__first_name", "members__last_name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        managers = TeamMembership.objects.filter(role=TeamMembership.Role.MANAGER).select_related("user")
        return (
            super()
            .get_queryset(request)
            .annotate(_members=Count("memberships", distinct=True))
            .prefetch_related(Prefetch("memberships", queryset=managers, to_attr="_managers"))
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or (
            obj is not None and obj.pk in managed_team_ids(request.user)
        )

    def get_readonly_fields(self, request, obj=None):
        if is_org_admin(request.user):
            return []
        return ["name", "slug"]

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if is_org_admin(request.user) else {}

    @admin.display(description=_("members"), ordering="_members")
    def member_count(self, obj):
        return obj._members

    @admin.display(description=_("team managers"))
    def manager_names(self, obj):
        return ", ".join(display_name(m.user) for m in obj._managers) or "—"


admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditTrailAdmin(LogEntryAdmin):
    """The audit trail: Managers and administrators read all of it, team managers what concerns their teams."""

    def get_queryset(self, request):
        entries = super().get_queryset(request)
        readable = readable_entries(request.user, entries)
        return entries.none() if readable is None else readable

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or manages(request.user)

    def has_module_permission(self, request):
        return super().has_module_permission(request) or manages(request.user)
