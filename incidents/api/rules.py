"""An integration's routing rules in the API, and its test console."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from incidents import console, ingest, routing
from incidents.models import Integration, RoutingRule, Service, Severity, Urgency
from people.api.teams import TeamPermissions, visible_parent
from people.teams import visible

SET_FIELDS = {
    "service": "service",
    "severity": "severity",
    "urgency": "urgency",
    "title": "title_template",
    "dedup_key": "dedup_key_template",
}


class RuleSetSerializer(serializers.Serializer):
    service = serializers.CharField(
        required=False, allow_blank=True, help_text="The slug of the service that gets the incident."
    )
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_blank=True)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False, allow_blank=True)
    title = serializers.CharField(
        required=False, allow_blank=True, max_length=1024, help_text="A template, e.g. {labels.alertname}."
    )
    dedup_key = serializers.CharField(
        required=False, allow_blank=True, max_length=255, help_text="A template, e.g. {labels.instance}."
    )


class RoutingRuleSerializer(serializers.ModelSerializer):
    match = serializers.JSONField(
        help_text='{"all": [conditions]} or {"any": [conditions]}; a condition is '
        '{"field": "labels.team", "op": "equals" | "regex" | "exists", "value": "…"}.'
    )
    set = RuleSetSerializer(
        required=False,
        help_text="What a match changes (absent or empty keys: as sent); given, it replaces the rule's settings whole.",
    )

    class Meta:
        model = RoutingRule
        fields = ["id", "integration", "position", "note", "match", "set", "drop", "created_at"]
        read_only_fields = ["integration", "created_at"]

    def to_representation(self, rule):
        data = super().to_representation(rule)
        data["set"] = {
            "service": rule.service.slug if rule.service_id else "",
            "severity": rule.severity,
            "urgency": rule.urgency,
            "title": rule.title_template,
            "dedup_key": rule.dedup_key_template,
        }
        return data

    def validate(self, attrs):
        integration = self.context["integration"]
        given = attrs.pop("set", None)
        if given is None and self.instance is None:
            given = {}
        if given is not None:
            slug = given.get("service") or ""
            attrs["service"] = None
            if slug:
                services = visible(Service.objects.all(), self.context["request"].user)
                attrs["service"] = services.filter(slug=slug).first()
                if attrs["service"] is None:
                    raise serializers.ValidationError(
                        {"set.service": [_("No service has the slug %(slug)s.") % {"slug": slug}]}
                    )
            for name, column in SET_FIELDS.items():
                if name != "service":
                    attrs[column] = given.get(name) or ""
        current = self.instance

        def value(name, default=""):
            return attrs[name] if name in attrs else getattr(current, name, default)

        try:
            routing.check_rule(
                kind=integration.kind,
                match=value("match", None),
                severity=value("severity"),
                urgency=value("urgency"),
                title_template=value("title_template"),
                dedup_key_template=value("dedup_key_template"),
                drop=value("drop", False),
            )
        except routing.RuleError as exc:
            raise serializers.ValidationError(
                {f"set.{name}" if name in SET_FIELDS else name: messages for name, messages in exc.errors.items()}
            ) from None
        return attrs


CONSOLE_ANSWER = inline_serializer(
    "RoutingTestResult",
    {
        "matched": serializers.IntegerField(allow_null=True),
        "dropped": serializers.BooleanField(),
        "event": serializers.DictField(),
    },
)


class RoutingRuleViewSet(viewsets.ModelViewSet):
    """An integration's routing rules, tried by position: the first that matches routes, changes or drops."""

    serializer_class = RoutingRuleSerializer
    queryset = RoutingRule.objects.none()
    permission_classes = [TeamPermissions]
    team_path = "integration__service__team"
    lookup_value_regex = r"\d+"
    action_permissions = {"test": ["incidents.view_routingrule"]}

    def get_integration(self):
        if not hasattr(self, "_integration"):
            integrations = Integration.objects.select_related("service")
            if self.action == "test":  # reads only: whoever sees the integration may try a body
                pk = self.kwargs["integration_pk"]
                self._integration = get_object_or_404(visible(integrations, self.request.user, "service__team"), pk=pk)
            else:
                self._integration = visible_parent(
                    self.request, integrations, self.kwargs["integration_pk"], "service__team"
                )
        return self._integration

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RoutingRule.objects.none()
        return RoutingRule.objects.filter(integration=self.get_integration()).select_related("service")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and "integration_pk" in self.kwargs:
            context["integration"] = self.get_integration()
        return context

    def perform_create(self, serializer):
        serializer.save(integration=self.get_integration())

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: CONSOLE_ANSWER})
    @action(detail=False, methods=["post"])
    def test(self, request, integration_pk=None):
        """What the rules (and a webhook's expressions) make of a body, without writing anything."""
        try:
            answer = console.explain(self.get_integration(), request.data)
        except ingest.InvalidEvent as exc:
            raise serializers.ValidationError({"body": exc.errors}) from None
        return Response(answer)
