"""Who sees and manages what a team owns.

Services, schedules, escalation policies, stakeholder groups and release
windows belong to a team or to none (organisation-wide). People see their
teams' objects and the organisation-wide ones; team managers manage their
team's; organisation administrators (superusers and Managers) see and manage
everything. Child objects (a schedule's layers, a service's integrations)
follow their parent through `team_path`, e.g. ``"schedule__team"``.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Q
from django.db.models.functions import Cast

from people.models import Team, TeamMembership
from project.admin import sees_secrets

OWNED = {}  # model → the path from it to its team, e.g. Layer → "schedule__team"


def owned(model, path="team"):
    """Declare `model` as owned by a team through `path` (apps do it in `ready()`); the audit trail follows it."""
    OWNED[model] = path


def is_org_admin(user):
    """Superusers and Managers: the whole organisation, every team (the same people who see secrets)."""
    return sees_secrets(user)


def _memberships(user):
    cached = getattr(user, "_piquet_teams", None)
    if cached is None:
        rows = TeamMembership.objects.filter(user=user).values_list("team_id", "role") if user.pk else []
        cached = user._piquet_teams = dict(rows)
    return cached


def team_ids(user):
    """The ids of the person's teams."""
    return set(_memberships(user))


def managed_team_ids(user):
    """The ids of the teams the person manages (every team for organisation administrators)."""
    if is_org_admin(user):
        return set(Team.objects.values_list("pk", flat=True))
    return {team for team, role in _memberships(user).items() if role == TeamMembership.Role.MANAGER}


def visible(queryset, user, path="team"):
    """`queryset` narrowed to what the person may see: their teams' objects and the organisation-wide ones."""
    if is_org_admin(user):
        return queryset
    return queryset.filter(Q(**{f"{path}__isnull": True}) | Q(**{f"{path}__in": team_ids(user)}))


def team_of(obj, path="team"):
    """The id of the team owning `obj`, following `path` (None: organisation-wide)."""
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


def manages(user, obj=None, path="team"):
    """Whether the person manages `obj` as one of its team's managers; without `obj`: manages any team."""
    if is_org_admin(user):
        return True
    managed = managed_team_ids(user)
    if obj is None:
        return bool(managed)
    return team_of(obj, path) in managed


class TeamScopedAdmin:
    """A ModelAdmin showing only what the person's teams own (and what belongs to no team), and letting team
    managers add, change and delete their team's objects. A team manager picks one of their teams."""

    team_path = "team"

    def get_queryset(self, request):
        return visible(super().get_queryset(request), request.user, self.team_path)

    def has_add_permission(self, request, *args, **kwargs):
        return super().has_add_permission(request, *args, **kwargs) or manages(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or manages(request.user, obj, self.team_path)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) or manages(request.user, obj, self.team_path)

    def has_module_permission(self, request):
        return super().has_module_permission(request) or manages(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Team managers choose among their teams (a team is required), and parents among their teams' objects."""
        user = request.user
        if not is_org_admin(user):
            first = self.team_path.split("__")[0]
            if db_field.name == "team" == first:
                kwargs["queryset"] = Team.objects.filter(pk__in=managed_team_ids(user))
                field = super().formfield_for_foreignkey(db_field, request, **kwargs)
                field.required = True
                field.empty_label = None
                return field
            if db_field.name == first:
                rest = self.team_path.split("__", 1)[1]
                kwargs["queryset"] = db_field.related_model.objects.filter(**{f"{rest}__in": managed_team_ids(user)})
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TeamScopedInline:
    """An inline of a team-owned parent (a schedule's layers, a policy's steps): team managers edit it."""

    parent_team_path = "team"

    def _manages_parent(self, request, obj):
        return manages(request.user, obj, self.parent_team_path)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) or self._manages_parent(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or self._manages_parent(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) or self._manages_parent(request, obj)


def audit_entries(user, entries):
    """A team manager's share of the audit trail: entries about their teams, their members and what the teams own
    (as it is now: an object since deleted or moved away is the administrators' to read). None for others."""
    managed = managed_team_ids(user)
    if not managed:
        return None
    types = ContentType.objects.get_for_models(*OWNED, Team, TeamMembership)
    about = Q(content_type=types[Team], object_pk__in=[str(pk) for pk in managed])
    owned_by_them = {TeamMembership: "team", **OWNED}
    for model, path in owned_by_them.items():
        keys = model.objects.filter(**{f"{path}__in": managed}).values_list(Cast("pk", CharField()), flat=True)
        about |= Q(content_type=types[model], object_pk__in=keys)
    return entries.filter(about)
