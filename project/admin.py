from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class PiquetAdminSite(admin.AdminSite):
    site_title = _("Piquet")
    site_header = _("Piquet")
    index_title = _("Incident response and on-call")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records (timelines, deliveries, logs): visible, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
