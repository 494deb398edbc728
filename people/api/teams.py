"""Teams in the API, and what every team-owned endpoint shares: scoping, team managers' rights, the team field."""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions, serializers, viewsets

from people.models import Team, TeamMembership
from people.teams import is_org_admin, managed_team_ids, manages, visible
from project.api import RolePermissions, as_id


class TeamPermissions(RolePermissions):
    """Role permissions, and team managers may change what their teams own."""

    def has_permission(self, request, view):
        if super().has_permission(request, view):
            return True
        user = request.user
        return bool(user and user.is_authenticated and request.method not in permissions.SAFE_METHODS) and manages(user)

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS or is_org_admin(request.user):
            return True
        if request.user.has_perms(self.get_required_permissions(request.method, type(obj))):
            return True
        return manages(request.user, obj, getattr(view, "team_path", "team"))


class TeamScopedViewSet:
    """A viewset of team-owned objects: another team's answer 404; its team managers change their own."""

    team_path = "team"
    permission_classes = [TeamPermissions]

    def get_queryset(self):
        return visible(super().get_queryset(), self.request.user, self.team_path)


def visible_parent(request, queryset, pk, path="team"):
    """The parent object of a nested endpoint (a service's integrations, a schedule's layers), if the person may
    see it (else 404); a change needs its team managed by them or a role allowing it."""
    if as_id(str(pk)) is None:
        raise Http404
    parent = get_object_or_404(visible(queryset, request.user, path), pk=pk)
    if request.method not in permissions.SAFE_METHODS and not is_org_admin(request.user):
        model = queryset.model._meta
        if not request.user.has_perm(f"{model.app_label}.change_{model.model_name}") and not manages(
            request.user, parent, path
        ):
            raise exceptions.PermissionDenied(_("Only the managers of its team may change this."))
    return parent


class TeamOwnedSerializer(serializers.ModelSerializer):
    """A serializer with the nullable `team` (id): team managers must pick one of their teams."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        request = self.context.get("request")
        if request is None or is_org_admin(request.user):
            return attrs
        if self.instance is None or "team" in attrs:
            team = attrs.get("team")
            if team is None or team.pk not in managed_team_ids(request.user):
                raise serializers.ValidationError({"team": [_("Choose one of the teams you manage.")]})
        return attrs


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug"]


class TeamViewSet(viewsets.ModelViewSet):
    """Teams. Everyone reads them; organisation administrators (Managers) create, rename and delete them."""

    queryset = Team.objects.order_by("name")
    serializer_class = TeamSerializer


class MembershipSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))

    class Meta:
        model = TeamMembership
        fields = ["id", "user", "role"]

    def validate_user(self, user):
        team = self.context["team"]
        taken = TeamMembership.objects.filter(team=team, user=user)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(_("This person is already a member of the team."))
        return user


class TeamMemberPermissions(permissions.BasePermission):
    """Everyone reads a team's members; its team managers and organisation administrators change them."""

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return is_org_admin(user) or view.get_team().pk in managed_team_ids(user)


class TeamMemberViewSet(viewsets.ModelViewSet):
    """The members of a team, as member or team manager."""

    serializer_class = MembershipSerializer
    permission_classes = [TeamMemberPermissions]
    queryset = TeamMembership.objects.none()

    def get_team(self):
        if not hasattr(self, "_team"):
            if as_id(str(self.kwargs["team_pk"])) is None:
                raise Http404
            self._team = get_object_or_404(Team, pk=self.kwargs["team_pk"])
        return self._team

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TeamMembership.objects.none()
        return TeamMembership.objects.filter(team=self.get_team()).order_by("user__username")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["team"] = self.get_team()
        return context

    def perform_create(self, serializer):
        serializer.save(team=self.get_team())
