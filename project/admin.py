from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class PiquetAdminSite(admin.AdminSite):
    site_title = _("Piquet")
    site_header = _("Piquet")
    index_title = _("Incident response and on-call")
