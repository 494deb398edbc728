"""API: calling in responders, their answers, and the incident's conference bridge."""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from incidents import bridge, responders
from incidents.models import MAX_REQUEST_MESSAGE, Incident, ResponderRequest
from people.teams import visible
from project.api import MAX_ID, as_id
from project.serializers import UserSummarySerializer
from rotations.models import EscalationPolicy, Schedule

RESPONDER = ["incidents.change_incident"]
MAX_TARGETS = 50  # ids of one kind in one request


class ResponderRequestSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    requested_by = UserSummarySerializer(read_only=True, allow_null=True)
    policy = serializers.CharField(source="escalation.policy_name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ResponderRequest
        fields = ["id", "state", "user", "requested_by", "message", "via", "policy", "created_at", "answered_at"]
        read_only_fields = fields


def _ids(help_text):
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_TARGETS,
        default=list,
        help_text=help_text,
    )


class AddRespondersSerializer(serializers.Serializer):
    users = _ids("Ids of people to ask.")
    schedules = _ids("Ids of schedules: whoever is on call for them now is asked.")
    policies = _ids("Ids of escalation policies: each runs its chain for the request until someone joins.")
    message = serializers.CharField(max_length=MAX_REQUEST_MESSAGE, allow_blank=True, default="", trim_whitespace=True)

    def validate(self, attrs):
        if not (attrs["users"] or attrs["schedules"] or attrs["policies"]):
            raise ValidationError({"detail": [_("Name at least one person, schedule or escalation policy.")]})
        person = self.context["request"].user
        found = {
            "users": get_user_model().objects.filter(is_active=True).in_bulk(attrs["users"]),
            "schedules": visible(Schedule.objects.all(), person).in_bulk(attrs["schedules"]),
            "policies": visible(EscalationPolicy.objects.all(), person).in_bulk(attrs["policies"]),
        }
        errors = {}
        for name, rows in found.items():
            unknown = [str(pk) for pk in dict.fromkeys(attrs[name]) if pk not in rows]
            if unknown:
                errors[name] = [_("Unknown or not visible to you: %(ids)s.") % {"ids": ", ".join(unknown)}]
            attrs[name] = [rows[pk] for pk in dict.fromkeys(attrs[name]) if pk in rows]
        if errors:
            raise ValidationError(errors)
        return attrs


class AddedSerializer(serializers.Serializer):
    requests = ResponderRequestSerializer(many=True)
    nobody = serializers.ListField(child=serializers.CharField())


class BridgeSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=bridge.MAX_URL, allow_blank=True, required=False, trim_whitespace=True)
    phone = serializers.CharField(max_length=bridge.MAX_PHONE, allow_blank=True, required=False)


def _requests():
    return ResponderRequest.objects.select_related("user", "requested_by", "escalation")


class ResponderRequestViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Who was asked to join an incident's response, and what they answered. POST asks more people."""

    serializer_class = ResponderRequestSerializer
    queryset = ResponderRequest.objects.none()
    pagination_class = None
    # Joining and declining are the asked person's own answer: checked in the action.
    action_permissions = {
        "create": RESPONDER,
        "list": ["incidents.view_responderrequest"],
        "join": [],
        "decline": [],
    }

    def get_incident(self):
        return get_object_or_404(Incident.objects.visible_to(self.request.user), pk=self.kwargs["incident_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ResponderRequest.objects.none()
        return _requests().filter(incident=self.get_incident())

    @extend_schema(request=AddRespondersSerializer, responses={201: AddedSerializer})
    def create(self, request, *args, **kwargs):
        """Ask people (`users`), whoever is on call now for `schedules`, and the chains of `policies` (ids) to
        join, with a `message`. `nobody` says which schedule or policy had nobody to ask."""
        incident = self.get_incident()
        form = AddRespondersSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        added = responders.add(incident, by=request.user, **form.validated_data)
        rows = _requests().filter(pk__in=[r.pk for r in added.requests])
        return Response(
            {"requests": ResponderRequestSerializer(rows, many=True).data, "nobody": added.nobody},
            status=status.HTTP_201_CREATED,
        )

    def _answer(self, answer):
        pk = as_id(str(self.kwargs["pk"]))
        if pk is None:
            raise Http404
        asked = get_object_or_404(_requests().filter(incident=self.get_incident()), pk=pk)
        if asked.user_id != self.request.user.pk:
            raise PermissionDenied(_("Only the person asked answers this request."))
        answered = answer(asked, by=self.request.user)
        return Response(ResponderRequestSerializer(_requests().get(pk=answered.pk)).data)

    @extend_schema(request=None, responses={200: ResponderRequestSerializer})
    @action(detail=True, methods=["post"])
    def join(self, request, incident_pk=None, pk=None):
        """The person asked joins the response."""
        return self._answer(responders.join)

    @extend_schema(request=None, responses={200: ResponderRequestSerializer})
    @action(detail=True, methods=["post"])
    def decline(self, request, incident_pk=None, pk=None):
        """The person asked declines."""
        return self._answer(responders.decline)


def set_bridge_from_request(incident, request):
    """The bridge action of the incidents API: validates, sets, or a 400 naming the field."""
    form = BridgeSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    url = form.validated_data.get("url", incident.bridge_url)
    phone = form.validated_data.get("phone", incident.bridge_phone)
    try:
        url = bridge.clean_url(url)
    except ValueError as exc:
        raise ValidationError({"url": [str(exc)]}) from None
    try:
        return bridge.set_bridge(incident, url=url, phone=phone, by=request.user)
    except ValueError as exc:
        raise ValidationError({"phone": [str(exc)]}) from None
