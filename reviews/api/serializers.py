import datetime as dt

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from project.serializers import UserSummarySerializer
from releases.models import Deployment
from reviews.models import ActionItem, Review, ReviewApproval, validate_ticket_url
from reviews.workflow import MAX_SECTION_LENGTH

MIN_DUE, MAX_DUE = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


def _people():
    return get_user_model().objects.filter(is_active=True, is_staff=True)


class ApprovalSerializer(serializers.ModelSerializer):
    reviewer = UserSummarySerializer(read_only=True)

    class Meta:
        model = ReviewApproval
        fields = ["reviewer", "approved_at"]


class ActionItemSerializer(serializers.ModelSerializer):
    review = serializers.PrimaryKeyRelatedField(queryset=Review.objects.none())
    owner = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.none())
    ticket_url = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, validators=[validate_ticket_url]
    )
    incident = serializers.IntegerField(source="review.incident.number", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = ["id", "review", "incident", "title", "owner", "due", "ticket_url", "status", "overdue", "done_at"]
        read_only_fields = ["done_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["review"].queryset = Review.objects.visible_to(request.user)
            self.fields["owner"].queryset = _people()

    def get_overdue(self, item) -> bool:
        return item.is_overdue()

    def validate_due(self, value):
        if not MIN_DUE <= value <= MAX_DUE:
            raise serializers.ValidationError(
                _("Give a date between %(low)s and %(high)s.") % {"low": MIN_DUE, "high": MAX_DUE}
            )
        return value


class ReviewSerializer(serializers.ModelSerializer):
    """A review as the admin has it; the record is read-only, state changes go through reviews.workflow."""

    incident = serializers.SerializerMethodField()
    service = serializers.CharField(source="incident.service.slug", read_only=True)
    reviewers = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=get_user_model().objects.none())
    approvals = ApprovalSerializer(many=True, read_only=True)
    contributing_deployments = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Deployment.objects.all()
    )
    action_items = ActionItemSerializer(many=True, read_only=True)
    state = serializers.ChoiceField(choices=Review.State.choices, required=False)

    class Meta:
        model = Review
        fields = [
            "id",
            "incident",
            "service",
            "state",
            *[name for name, _label in Review.SECTIONS],
            "public_summary",
            "reviewers",
            "approvals",
            "contributing_deployments",
            "impact_started_at",
            "impact_ended_at",
            "record_markdown",
            "record",
            "action_items",
            "created_at",
            "published_at",
        ]
        read_only_fields = ["impact_started_at", "impact_ended_at", "record_markdown", "record", "published_at"]
        extra_kwargs = {
            name: {"max_length": MAX_SECTION_LENGTH, "required": False, "allow_blank": True}
            for name in [*(n for n, _label in Review.SECTIONS), "public_summary"]
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].child_relation.queryset = _people()

    def get_incident(self, review) -> dict:
        return {"id": review.incident_id, "number": review.incident.number, "title": review.incident.title}


class ReviewListSerializer(serializers.ModelSerializer):
    incident = serializers.SerializerMethodField()
    service = serializers.CharField(source="incident.service.slug", read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "incident",
            "service",
            "state",
            "summary",
            "impact_started_at",
            "impact_ended_at",
            "created_at",
            "published_at",
        ]

    def get_incident(self, review) -> dict:
        return {"id": review.incident_id, "number": review.incident.number, "title": review.incident.title}
