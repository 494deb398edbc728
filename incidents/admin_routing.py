"""The integration page's routing rules (conditions as lines, no JSON), its test console and suppressed events."""

import json
import re

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from incidents import console, ingest, routing
from incidents.admin_incident import instant
from incidents.models import RoutingRule, SuppressedEvent
from people.teams import TeamScopedInline
from project.admin import ReadOnlyAdmin
from project.jsonbody import parse_json

# Where check_rule's errors show on the form.
ERROR_FIELDS = {
    "severity": "severity",
    "urgency": "urgency",
    "title": "title_template",
    "dedup_key": "dedup_key_template",
}


class RoutingRuleForm(forms.ModelForm):
    mode = forms.ChoiceField(
        label=_("match"),
        choices=[("all", _("all conditions")), ("any", _("any condition"))],
        initial="all",
    )
    conditions = forms.CharField(
        label=_("conditions"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 44, "placeholder": "labels.team = payments"}),
        help_text=_(
            "One a line: field = text, field ~ regular expression, field exists. Fields are dotted paths: "
            "labels.* and annotations.* (Alertmanager), payload.* or dedup_key (Events API), any key of the body "
            "(webhook)."
        ),
    )

    class Meta:
        model = RoutingRule
        fields = [
            "position",
            "mode",
            "conditions",
            "service",
            "severity",
            "urgency",
            "title_template",
            "dedup_key_template",
            "drop",
            "note",
        ]
        widgets = {
            "title_template": forms.TextInput(attrs={"size": 30}),
            "dedup_key_template": forms.TextInput(attrs={"size": 24}),
            "note": forms.TextInput(attrs={"size": 20}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        match = self.instance.match if isinstance(self.instance.match, dict) and self.instance.match else {}
        if match:
            mode, conditions = next(iter(match.items()))
            self.initial.setdefault("mode", mode)
            self.initial.setdefault("conditions", routing.conditions_to_lines(conditions))

    def clean(self):
        cleaned = super().clean()
        try:
            conditions = routing.conditions_from_lines(cleaned.get("conditions"))
        except ValueError as exc:
            self.add_error("conditions", str(exc))
            return cleaned
        match = {cleaned.get("mode") or "all": conditions}
        integration = getattr(self.instance, "integration", None)
        try:
            routing.check_rule(
                kind=integration.kind if integration is not None else "",
                match=match,
                severity=cleaned.get("severity") or "",
                urgency=cleaned.get("urgency") or "",
                title_template=cleaned.get("title_template") or "",
                dedup_key_template=cleaned.get("dedup_key_template") or "",
                drop=cleaned.get("drop", False),
            )
        except routing.RuleError as exc:
            for name, messages in exc.errors.items():
                field = ERROR_FIELDS.get(name, "conditions")
                index = re.search(r"\[(\d+)\]", name)
                for message in messages:
                    if index:  # the n-th condition is the n-th line written (blank lines and comments aside)
                        number = int(index.group(1)) + 1
                        message = _("Condition %(number)d: %(message)s") % {"number": number, "message": message}
                    self.add_error(field, message)
        self.instance.match = match
        return cleaned


class RoutingRuleInline(TeamScopedInline, admin.StackedInline):
    model = RoutingRule
    form = RoutingRuleForm
    parent_team_path = "service__team"
    extra = 0
    autocomplete_fields = ["service"]
    ordering = ["position", "id"]
    verbose_name_plural = _("routing rules (tried by position; the first that matches decides)")
    fieldsets = [
        (None, {"fields": [("position", "note"), ("mode", "conditions")]}),
        (
            _("then"),
            {"fields": [("service", "severity", "urgency"), ("title_template", "dedup_key_template"), "drop"]},
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("service")


class ConsoleForm(forms.Form):
    body = forms.CharField(
        label=_("payload"),
        widget=forms.Textarea(attrs={"rows": 14, "cols": 90, "spellcheck": "false"}),
        help_text=_("A JSON body as the monitoring tool sends it. Nothing is written: no alert, no incident."),
    )

    def clean_body(self):
        text = self.cleaned_data["body"]
        if len(text.encode()) > settings.PIQUET_MAX_EVENT_BYTES:
            raise forms.ValidationError(_("The payload is too large."))
        try:
            return parse_json(text.encode())
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class IntegrationConsole:
    """The integration page's "Test this payload": which rule matches a body, and what comes of it."""

    def get_urls(self):
        view = self.admin_site.admin_view(self.test_payload_view)
        return [path("<path:object_id>/test/", view, name="incidents_integration_test"), *super().get_urls()]

    @admin.display(description=_("test console"))
    def console_link(self, obj):
        if not obj.pk:
            return _("(once saved)")
        url = reverse("admin:incidents_integration_test", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Test this payload"))

    def test_payload_view(self, request, object_id):
        integration = self.get_object(request, unquote(object_id))
        if integration is None:
            raise Http404
        if not self.has_view_or_change_permission(request, integration):
            raise PermissionDenied
        form = ConsoleForm(request.POST or None)
        answer = errors = rule = None
        if request.method == "POST" and form.is_valid():
            try:
                answer = console.explain(integration, form.cleaned_data["body"])
            except ingest.InvalidEvent as exc:
                errors = exc.errors
            if answer and answer["matched"]:
                rule = RoutingRule.objects.filter(pk=answer["matched"]).first()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Test this payload"),
            "opts": self.model._meta,
            "original": integration,
            "form": form,
            "answer": answer,
            "answer_json": json.dumps(answer, indent=2, ensure_ascii=False) if answer else "",
            "rule": rule,
            "errors": errors,
        }
        return TemplateResponse(request, "admin/incidents/integration/test_payload.html", context)


@admin.register(SuppressedEvent)
class SuppressedEventAdmin(ReadOnlyAdmin):
    list_display = ["received", "summary", "dedup_key", "integration", "rule", "repeats", "last_received_at"]
    list_filter = ["integration__service"]
    list_select_related = ["integration", "integration__service", "rule"]
    search_fields = ["dedup_key", "summary"]
    raw_id_fields = ["integration", "rule"]
    show_full_result_count = False
    ordering = ["-received_at"]

    @admin.display(description=_("received at"), ordering="received_at")
    def received(self, obj):
        return instant(obj.received_at)
