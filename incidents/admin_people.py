"""The people admin, extended with what paging adds: sending a test notification."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from incidents.messages import send_test_notification
from people import admin as people_admin
from people.models import ContactMethod


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


class ContactMethodAdmin(people_admin.ContactMethodAdmin):
    actions = ["send_test"]

    @admin.action(description=_("Send a test notification"), permissions=["change"])
    def send_test(self, request, queryset):
        _report(self, request, queryset.select_related("user"))


class UserAdmin(people_admin.UserAdmin):
    actions = [*people_admin.UserAdmin.actions, "send_test"]

    @admin.action(description=_("Send a test notification to every enabled contact method"), permissions=["change"])
    def send_test(self, request, queryset):
        methods = ContactMethod.objects.filter(user__in=queryset, enabled=True).select_related("user")
        if not methods:
            self.message_user(
                request, _("None of the selected people has an enabled contact method."), messages.WARNING
            )
        _report(self, request, methods)


for model, model_admin in ((ContactMethod, ContactMethodAdmin), (get_user_model(), UserAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
