"""API: stakeholder groups, an incident's status updates, and the public status as JSON."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from comms import status_page, status_updates
from comms.models import (
    SEVERITY_CHOICES,
    Phase,
    StakeholderGroup,
    StatusUpdate,
    Subscriber,
    validate_subscriber_address,
)
from comms.stakeholder_messages import public_incident_url, render_markdown
from incidents.models import Incident, PublicStatus
from people.api.teams import TeamOwnedSerializer, TeamScopedViewSet
from project.admin import sees_secrets
from project.serializers import InstantField, UserSummarySerializer
from project.text import conceal

RESPONDER = ["incidents.change_incident"]


class SubscriberSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Subscriber.Kind.choices)
    address = serializers.CharField(max_length=500)

    def validate(self, attrs):
        # A partial update (PATCH) of a group still gives each subscriber whole.
        missing = {name: [_("This field is required.")] for name in ("kind", "address") if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        attrs["address"] = attrs["address"].strip()
        error = validate_subscriber_address(attrs["kind"], attrs["address"])
        if error:
            raise serializers.ValidationError({"address": [str(error)]})
        return attrs


@extend_schema_field({"type": "string", "enum": [value for value, _label in SEVERITY_CHOICES]})
class SeverityField(serializers.ChoiceField):
    """A severity, SEV1 (most severe) … SEV4; described inline so the schema keeps one Severity enum."""

    def __init__(self, **kwargs):
        super().__init__(choices=SEVERITY_CHOICES, **kwargs)


class StakeholderGroupSerializer(TeamOwnedSerializer):
    min_severity = SeverityField(required=False)
    subscribers = SubscriberSerializer(many=True, required=False)
    members = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=get_user_model().objects.all())

    class Meta:
        model = StakeholderGroup
        fields = ["id", "name", "team", "services", "min_severity", "members", "subscribers"]
        extra_kwargs = {"services": {"required": False}}

    def to_representation(self, group):
        data = super().to_representation(group)
        request = self.context.get("request")
        shown = request is None or sees_secrets(request.user)  # subscribers' addresses are personal data
        data["subscribers"] = [
            {"kind": s.kind, "address": s.address if shown else conceal(s.kind, s.address)}
            for s in group.subscribers.all()
        ]
        return data

    def validate_subscribers(self, value):
        seen = set()
        for item in value:
            pair = (item["kind"], item["address"])
            if pair in seen:
                raise serializers.ValidationError(f"{item['address']} is listed twice.")
            seen.add(pair)
        return value

    def _save_subscribers(self, group, subscribers):
        if subscribers is None:
            return
        wanted = {(s["kind"], s["address"]) for s in subscribers}
        for existing in group.subscribers.all():
            if (existing.kind, existing.address) not in wanted:
                existing.delete()
        have = set(group.subscribers.values_list("kind", "address"))
        Subscriber.objects.bulk_create(
            [Subscriber(group=group, kind=kind, address=address) for kind, address in wanted - have]
        )

    @transaction.atomic
    def create(self, validated_data):
        subscribers = validated_data.pop("subscribers", [])
        group = super().create(validated_data)
        self._save_subscribers(group, subscribers)
        return group

    @transaction.atomic
    def update(self, instance, validated_data):
        subscribers = validated_data.pop("subscribers", None)
        group = super().update(instance, validated_data)
        self._save_subscribers(group, subscribers)
        return group


class StakeholderGroupViewSet(TeamScopedViewSet, viewsets.ModelViewSet):
    """Who hears of incidents: services, minimum severity, members and outside subscribers."""

    queryset = StakeholderGroup.objects.prefetch_related("services", "members", "subscribers").order_by("name")
    serializer_class = StakeholderGroupSerializer


class StatusUpdateSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True, allow_null=True)
    message_html = serializers.SerializerMethodField()

    class Meta:
        model = StatusUpdate
        fields = [
            "id",
            "incident",
            "kind",
            "phase",
            "message",
            "message_html",
            "public",
            "service_status",
            "next_update_at",
            "eta",
            "author",
            "posted_at",
        ]

    def get_message_html(self, update) -> str:

        return str(render_markdown(update.text_in(get_language() or settings.LANGUAGE_CODE)))


class PostStatusUpdateSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=Phase.choices)
    message = serializers.CharField(max_length=status_updates.MAX_MESSAGE_LENGTH, trim_whitespace=True)
    public = serializers.BooleanField(default=True)
    service_status = serializers.ChoiceField(
        choices=PublicStatus.choices,
        required=False,
        help_text="Sets the public status of the incident's service with this update (the status page shows it).",
    )
    public_title = serializers.CharField(
        max_length=status_updates.MAX_PUBLIC_TITLE,
        required=False,
        allow_blank=True,
        help_text="What the status page calls the incident (empty: the service's public name).",
    )
    next_update_at = InstantField(required=False, allow_null=True)
    eta = InstantField(required=False, allow_null=True)


class StatusUpdateViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """An incident's status updates; posting one delivers it to the matching stakeholders."""

    serializer_class = StatusUpdateSerializer
    queryset = StatusUpdate.objects.none()
    action_permissions = {"create": RESPONDER, "list": ["comms.view_statusupdate"]}

    def get_incident(self):
        return get_object_or_404(Incident.objects.visible_to(self.request.user), pk=self.kwargs["incident_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StatusUpdate.objects.none()
        return StatusUpdate.objects.filter(incident=self.get_incident()).select_related("author").order_by("-posted_at")

    @extend_schema(request=PostStatusUpdateSerializer, responses={201: StatusUpdateSerializer})
    def create(self, request, *args, **kwargs):
        incident = self.get_incident()
        form = PostStatusUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            update = status_updates.post(incident, by=request.user, **form.validated_data)
        except status_updates.UpdateError as exc:
            raise serializers.ValidationError({exc.field: [str(exc)]}) from exc
        return Response(StatusUpdateSerializer(update).data, status=status.HTTP_201_CREATED)


class PublicStatusView(APIView):
    """The public status page as JSON (in the language of Accept-Language): services, their public status and
    history, active public incidents. Severity codes, role names and alert texts never appear."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: dict})
    def get(self, request):
        data = status_page.overview(with_history=True)
        return Response(
            {
                "organisation": data["brand"]["org_name"],
                "status": data["overall"],
                "description": str(data["overall_label"]),
                "generated_at": data["now"].isoformat(),
                "services": [
                    {
                        "name": row["name"],
                        "slug": row["service"].slug,
                        "description": row["description"],
                        "status": row["state"],
                        "status_label": str(row["state_label"]),
                        "history": row["history"],
                    }
                    for row in data["services"]
                ],
                "incidents": [_incident_json(i) for i in data["active"]],
                "recently_resolved": [_incident_json(i) for i in data["recent"]],
                "scheduled_maintenance": [
                    {
                        "name": item["name"],
                        "services": item["services"],
                        "starts_at": item["start"].isoformat(),
                        "ends_at": item["end"].isoformat(),
                        "under_way": item["active"],
                    }
                    for item in data["maintenance"]
                ],
            }
        )


def _incident_json(incident):

    return {
        "number": incident.number,
        "title": incident.public_label,
        "service": incident.service.slug,
        "service_name": incident.service.public_label,
        "impact": incident.impact,
        "status": incident.state,
        "phase": incident.phase,
        "next_update_at": incident.next_update_at.isoformat() if incident.next_update_at else None,
        "eta": incident.eta.isoformat() if incident.eta else None,
        "url": public_incident_url(incident),
        "updates": [
            {
                "phase": u.phase,
                "message": str(u.html),
                "service_status": u.service_status or None,
                "next_update_at": u.next_update_at.isoformat() if u.next_update_at else None,
                "eta": u.eta.isoformat() if u.eta else None,
                "posted_at": u.posted_at.isoformat(),
            }
            for u in incident.public_updates
        ],
        # Set once the incident's review is published with a summary for the public (comms.post_incident).
        "post_incident_summary": (
            str(incident.post_incident_summary_html) if incident.post_incident_summary_html is not None else None
        ),
    }
