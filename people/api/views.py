"""How people are reached: their contact methods, notification rules and profile.

A person manages their own; Managers manage anyone's.
"""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import generics, permissions, serializers, viewsets

from people.models import (
    MAX_HEADS_UP_MINUTES,
    MAX_RULE_DELAY_MINUTES,
    ContactMethod,
    NotificationRule,
    Profile,
    validate_address,
)
from project import clock
from project.api import as_id


class OwnerOrManager(permissions.BasePermission):
    message = "You can manage only your own contact methods and rules."

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if as_id(str(view.kwargs.get("user_pk"))) is None:
            raise Http404  # an id beyond what the database stores: nobody
        if str(user.pk) == str(view.kwargs.get("user_pk")):
            return True
        return user.has_perm(f"people.change_{view.queryset.model._meta.model_name}")


class ContactMethodSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactMethod
        fields = ["id", "kind", "address", "label", "enabled", "secret", "created_at"]
        read_only_fields = ["secret", "created_at"]

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        address = (attrs.get("address", getattr(self.instance, "address", "")) or "").strip()
        error = validate_address(kind, address)
        if error:
            raise serializers.ValidationError({"address": [str(error)]})
        attrs["address"] = address
        return attrs


class NotificationRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationRule
        fields = ["id", "contact_method", "delay_minutes", "urgency"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        view = self.context.get("view")
        if view is not None and "user_pk" in getattr(view, "kwargs", {}):
            self.fields["contact_method"].queryset = ContactMethod.objects.filter(user_id=view.kwargs["user_pk"])

    def validate_delay_minutes(self, value):
        if value > MAX_RULE_DELAY_MINUTES:
            raise serializers.ValidationError(f"At most {MAX_RULE_DELAY_MINUTES} minutes (24 hours).")
        return value

    def validate(self, attrs):
        method = attrs.get("contact_method", getattr(self.instance, "contact_method", None))
        delay = attrs.get("delay_minutes", getattr(self.instance, "delay_minutes", 0))
        clash = NotificationRule.objects.filter(contact_method=method, delay_minutes=delay)
        if self.instance:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"delay_minutes": ["This method already has a rule at this delay."]})
        return attrs


def person_or_404(user_pk):
    """The person of a URL, or 404 (an id beyond what the database stores included)."""
    if as_id(str(user_pk)) is None:
        raise Http404
    return get_object_or_404(get_user_model(), pk=user_pk)


class _PerUserViewSet(viewsets.ModelViewSet):
    permission_classes = [OwnerOrManager]

    def get_person(self):
        return person_or_404(self.kwargs["user_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        return self.queryset.filter(user=self.get_person())

    def perform_create(self, serializer):
        serializer.save(user=self.get_person())


class ContactMethodViewSet(_PerUserViewSet):
    """A person's contact methods (e-mail, phone, Slack, webhook, …)."""

    queryset = ContactMethod.objects.all()
    serializer_class = ContactMethodSerializer


class NotificationRuleViewSet(_PerUserViewSet):
    """When each contact method is used after the person is paged."""

    queryset = NotificationRule.objects.select_related("contact_method")
    serializer_class = NotificationRuleSerializer


class ProfileSerializer(serializers.ModelSerializer):
    time_zone = serializers.CharField(
        max_length=64, allow_blank=True, required=False, help_text="An IANA name; empty: the installation's zone."
    )
    heads_up_minutes = serializers.IntegerField(
        allow_null=True,
        required=False,
        min_value=1,
        max_value=MAX_HEADS_UP_MINUTES,
        help_text="Minutes before each shift the person is told it is coming (1–10080); null: no heads-up.",
    )

    class Meta:
        model = Profile
        fields = ["language", "time_zone", "notify_on_acknowledge", "notify_on_resolve", "heads_up_minutes"]

    def validate_time_zone(self, value):
        if value:
            try:
                clock.get_zone(value)
            except clock.ClockError as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value


class ProfileView(generics.RetrieveUpdateAPIView):
    """A person's language, time zone and notification preferences (their own, or anyone's for Managers)."""

    permission_classes = [OwnerOrManager]
    serializer_class = ProfileSerializer
    queryset = Profile.objects.all()

    def get_object(self):
        person = person_or_404(self.kwargs["user_pk"])
        profile, _created = Profile.objects.get_or_create(user=person)
        return profile
