"""Serializers shared by every app's API."""

from datetime import UTC

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from project import clock


class UserSummarySerializer(serializers.ModelSerializer):
    """A person as other objects show them: id, username and display name."""

    name = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "name"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class InstantField(serializers.DateTimeField):
    """ISO 8601 between the years 1970 and 9000.

    A '+' turned into a space by an unencoded query string is taken back. A
    time without offset is local time (TIME_ZONE): one that does not exist
    means the first instant after the gap, an ambiguous one its first occurrence.
    """

    default_error_messages = {"range": _("Give an instant between the years {low} and {high}.")}
    LOW, HIGH = clock.MIN_YEAR, clock.MAX_YEAR

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601, e.g. 2026-11-27T15:00:00+01:00")
        value = value.strip()
        if "T" in value and " " in value:
            value = value.replace(" ", "+")
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid", format="ISO 8601, e.g. 2026-11-27T15:00:00+01:00")
        if timezone.is_naive(parsed):
            if not self.LOW <= parsed.year <= self.HIGH:
                self.fail("range", low=self.LOW, high=self.HIGH)
            parsed = clock.localize(parsed, timezone.get_current_timezone())
        if not clock.in_range(parsed):
            self.fail("range", low=self.LOW, high=self.HIGH)
        return parsed.astimezone(UTC)
