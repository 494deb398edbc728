"""API: who holds which role on an incident; assigning one is on the timeline and tells the person."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from incidents import roles
from incidents.models import Incident, IncidentRole
from project.serializers import UserSummarySerializer

RESPONDER = ["incidents.change_incident"]


class IncidentRoleSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    assigned_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = IncidentRole
        fields = ["id", "role", "user", "assigned_at", "assigned_by"]


class AssignRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=IncidentRole.Role.choices)
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))


class IncidentRoleViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The roles of an incident: commander, communications lead, scribe."""

    serializer_class = IncidentRoleSerializer
    queryset = IncidentRole.objects.none()
    pagination_class = None
    action_permissions = {"create": RESPONDER, "list": ["incidents.view_incidentrole"]}

    def get_incident(self):
        return get_object_or_404(Incident.objects.visible_to(self.request.user), pk=self.kwargs["incident_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IncidentRole.objects.none()
        return IncidentRole.objects.filter(incident=self.get_incident()).select_related("user", "assigned_by")

    @extend_schema(request=AssignRoleSerializer, responses={201: IncidentRoleSerializer})
    def create(self, request, *args, **kwargs):
        incident = self.get_incident()
        form = AssignRoleSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        holder = roles.assign(incident, by=request.user, **form.validated_data)
        holder = IncidentRole.objects.select_related("user", "assigned_by").get(pk=holder.pk)
        return Response(IncidentRoleSerializer(holder).data, status=status.HTTP_201_CREATED)
