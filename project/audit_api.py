"""`GET /api/v1/audit/`: the audit trail, newest first, for those who may read it."""

from auditlog.models import LogEntry
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, permissions, serializers

from project import audit
from project.api import as_id, query_instant

ACTIONS = {LogEntry.Action.CREATE: "create", LogEntry.Action.UPDATE: "update", LogEntry.Action.DELETE: "delete"}


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="timestamp")
    actor = serializers.SerializerMethodField()
    action = serializers.SerializerMethodField()
    object_type = serializers.SerializerMethodField(help_text='"app_label.model", e.g. "rotations.schedule".')
    object_id = serializers.CharField(source="object_pk")
    object_repr = serializers.CharField()
    changes = serializers.JSONField(help_text="{field: [before, after]}; secrets as their last four characters.")

    def get_actor(self, entry) -> str | None:
        return entry.actor.get_username() if entry.actor_id else None

    def get_action(self, entry) -> str:
        return ACTIONS.get(entry.action, "access")

    def get_object_type(self, entry) -> str:
        return f"{entry.content_type.app_label}.{entry.content_type.model}"


class AuditTrailView(generics.ListAPIView):
    """Every create, update and delete of configuration, newest first (Managers and administrators; team
    managers: their teams' objects)."""

    serializer_class = AuditEntrySerializer
    queryset = LogEntry.objects.none()
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("object_type", OpenApiTypes.STR, description='"app_label.model"'),
            OpenApiParameter("object_id", OpenApiTypes.STR),
            OpenApiParameter("actor", OpenApiTypes.STR, description="a username"),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LogEntry.objects.none()
        entries = audit.readable_entries(
            self.request.user,
            LogEntry.objects.select_related("actor", "content_type").exclude(action=LogEntry.Action.ACCESS),
        )
        if entries is None:
            raise exceptions.PermissionDenied(_("Only Managers and team managers read the audit trail."))
        params = self.request.query_params
        object_type = params.get("object_type")
        if object_type:
            app_label, dot, model = object_type.strip().lower().partition(".")
            if not dot or not app_label or not model:
                raise exceptions.ValidationError(
                    {"object_type": [_('Give "app_label.model", e.g. rotations.schedule.')]}
                )
            entries = entries.filter(content_type__app_label=app_label, content_type__model=model)
        if params.get("object_id"):
            if as_id(params["object_id"].strip()) is None:
                raise exceptions.ValidationError({"object_id": [_("Give the object's id, a whole number.")]})
            entries = entries.filter(object_pk=params["object_id"].strip())
        if params.get("actor"):
            entries = entries.filter(actor__username=params["actor"].strip()[:150])
        since = query_instant(self.request, "since")
        if since is not None:
            entries = entries.filter(timestamp__gte=since)
        return entries.order_by("-timestamp", "-id")
