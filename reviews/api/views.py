"""The reviews API: an incident's review, its Markdown, the list of reviews, approvals, action items."""

from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from incidents.models import Incident
from project.api import as_id
from reviews import drafting, export, workflow
from reviews.api import serializers as s
from reviews.models import ActionItem, Review

REVIEW_SELECT = ("incident", "incident__service")


def _visible_incident(request, incident_pk):
    if as_id(str(incident_pk)) is None:
        raise Http404
    return get_object_or_404(Incident.objects.visible_to(request.user).select_related("service"), pk=incident_pk)


def _review_of(incident):
    review = Review.objects.select_related(*REVIEW_SELECT).filter(incident=incident).first()
    if review is None:
        raise exceptions.NotFound("This incident has no review yet: POST to create it.")
    return review


def _as_bad_input(field, exc):
    return exceptions.ValidationError({field: [str(exc)]})


def _service_filter(value):
    match = Q(incident__service__slug=value)
    if (service_id := as_id(value)) is not None:
        match |= Q(incident__service_id=service_id)
    return match


def _id_param(request, name):
    raw = request.query_params.get(name)
    if not raw:
        return None
    value = as_id(raw)
    if value is None:
        raise exceptions.ValidationError({name: ["Give an id (a whole number)."]})
    return value


class IncidentReviewView(generics.GenericAPIView):
    """An incident's review: GET it, POST to create it (drafted from the record), PATCH its sections, state,
    public summary, reviewers and contributing deployments."""

    queryset = Review.objects.all()
    serializer_class = s.ReviewSerializer

    def get_review(self):
        return _review_of(_visible_incident(self.request, self.kwargs["incident_pk"]))

    def _answer(self, review, code=status.HTTP_200_OK):
        review = Review.objects.select_related(*REVIEW_SELECT).get(pk=review.pk)
        return Response(self.get_serializer(review).data, status=code)

    def get(self, request, incident_pk):
        return self._answer(self.get_review())

    @extend_schema(request=None, responses={201: s.ReviewSerializer, 200: s.ReviewSerializer})
    def post(self, request, incident_pk):
        incident = _visible_incident(request, incident_pk)
        review, created = drafting.start(incident, by=request.user)
        return self._answer(review, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def patch(self, request, incident_pk):
        review = self.get_review()
        form = self.get_serializer(review, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        sections = {name: data[name] for name, _label in Review.SECTIONS if name in data}
        with transaction.atomic():
            try:
                workflow.update_sections(review, values=sections)
            except workflow.ReviewError as exc:
                raise _as_bad_input("detail", exc) from None
            if "public_summary" in data:
                review = workflow.set_public_summary(review, text=data["public_summary"])
            if "reviewers" in data:
                workflow.set_reviewers(review, reviewers=data["reviewers"])
            if "contributing_deployments" in data:
                try:
                    workflow.set_contributing_deployments(review, deployments=data["contributing_deployments"])
                except workflow.ReviewError as exc:
                    raise _as_bad_input("contributing_deployments", exc) from None
            if "state" in data:
                try:
                    review = workflow.change_state(review, state=data["state"], by=request.user)
                except workflow.ReviewError as exc:
                    raise _as_bad_input("state", exc) from None
        return self._answer(review)


class IncidentReviewMarkdownView(generics.GenericAPIView):
    """The incident's review as one Markdown document (text/markdown)."""

    queryset = Review.objects.all()
    serializer_class = s.ReviewSerializer

    @extend_schema(operation_id="incident_review_markdown", responses={(200, "text/markdown"): OpenApiTypes.STR})
    def get(self, request, incident_pk):
        review = _review_of(_visible_incident(request, incident_pk))
        response = HttpResponse(export.as_markdown(review), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="review-{review.incident.number}.md"'
        return response


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("state", str, description="Comma-separated: draft, in_review, published."),
            OpenApiParameter("service", str, description="Service id or slug."),
            OpenApiParameter("team", int, description="Team id (of the incident's service)."),
        ]
    )
)
class ReviewViewSet(viewsets.ReadOnlyModelViewSet):
    """Reviews of the incidents the person sees; a named reviewer approves with POST …/approve/."""

    queryset = Review.objects.select_related(*REVIEW_SELECT)
    action_permissions = {"approve": ["reviews.view_review"]}

    def get_serializer_class(self):
        return s.ReviewListSerializer if self.action == "list" else s.ReviewSerializer

    def get_queryset(self):
        queryset = super().get_queryset().visible_to(self.request.user)
        if self.action != "list":
            return queryset
        params = self.request.query_params
        raw_states = params.get("state")
        if raw_states:
            states = [v.strip() for v in raw_states.split(",") if v.strip()]
            unknown = [v for v in states if v not in Review.State.values]
            if unknown:
                raise exceptions.ValidationError(
                    {"state": [f"Unknown value(s) {', '.join(unknown)}; expected {', '.join(Review.State.values)}."]}
                )
            queryset = queryset.filter(state__in=states)
        if params.get("service"):
            queryset = queryset.filter(_service_filter(params["service"]))
        team = _id_param(self.request, "team")
        if team is not None:
            queryset = queryset.filter(incident__service__team_id=team)
        return queryset

    @extend_schema(request=None, responses={200: s.ReviewSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        review = self.get_object()
        try:
            workflow.approve(review, by=request.user)
        except workflow.NotAReviewer as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except workflow.ReviewError as exc:
            raise _as_bad_input("state", exc) from None
        review = self.get_queryset().get(pk=review.pk)
        return Response(s.ReviewSerializer(review, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("owner", int, description="The owner's user id."),
            OpenApiParameter("status", str, description="open or done."),
            OpenApiParameter("service", str, description="Service id or slug (of the review's incident)."),
            OpenApiParameter("team", int, description="Team id (of the incident's service)."),
            OpenApiParameter("overdue", bool, description="true: open and past their due date."),
        ]
    )
)
class ActionItemViewSet(viewsets.ModelViewSet):
    """Action items of the reviews the person sees."""

    queryset = ActionItem.objects.select_related("review__incident")
    serializer_class = s.ActionItemSerializer

    def get_queryset(self):
        queryset = super().get_queryset().visible_to(self.request.user)
        if self.action != "list":
            return queryset
        params = self.request.query_params
        owner = _id_param(self.request, "owner")
        if owner is not None:
            queryset = queryset.filter(owner_id=owner)
        wanted = params.get("status")
        if wanted:
            if wanted not in ActionItem.Status.values:
                raise exceptions.ValidationError({"status": ["Expected open or done."]})
            queryset = queryset.filter(status=wanted)
        if params.get("service"):
            queryset = queryset.filter(
                Q(review__incident__service__slug=params["service"])
                | Q(review__incident__service_id=as_id(params["service"]) or 0)
            )
        team = _id_param(self.request, "team")
        if team is not None:
            queryset = queryset.filter(review__incident__service__team_id=team)
        overdue = params.get("overdue")
        if overdue:
            if overdue not in ("true", "false"):
                raise exceptions.ValidationError({"overdue": ["Expected true or false."]})
            overdue_ids = ActionItem.objects.overdue().values("pk")
            queryset = (
                queryset.filter(pk__in=overdue_ids) if overdue == "true" else queryset.exclude(pk__in=overdue_ids)
            )
        return queryset
