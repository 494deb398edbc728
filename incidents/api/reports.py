"""Reports in the API: incident figures and on-call load over a period, as JSON or CSV (`?format=csv`)."""

import csv
import io

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, renderers, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import reports, reports_load
from people.middleware import viewer_zone


class CSVRenderer(renderers.BaseRenderer):
    """Rows (lists) as CSV; the reports' `?format=csv`."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        writer = csv.writer(out)
        for row in data if isinstance(data, list) else []:
            writer.writerow(row)
        return out.getvalue().encode()


class ReportPermission(permissions.BasePermission):
    """Responders and Managers (who read incidents and schedules); not Stakeholders."""

    def has_permission(self, request, view):
        return reports.may_read_reports(request.user)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class DurationsSerializer(serializers.Serializer):
    median = serializers.FloatField(allow_null=True, help_text="Seconds (linear interpolation).")
    p90 = serializers.FloatField(allow_null=True, help_text="Seconds (linear interpolation).")


class PersonPagesSerializer(serializers.Serializer):
    user = PersonSerializer()
    pages = serializers.IntegerField()
    off_hours_pages = serializers.IntegerField()
    sleep_interruptions = serializers.IntegerField()


class IncidentReportSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    count = serializers.IntegerField()
    by_severity = serializers.DictField(child=serializers.IntegerField())
    by_urgency = serializers.DictField(child=serializers.IntegerField())
    time_to_acknowledge = DurationsSerializer()
    time_to_resolve = DurationsSerializer()
    pages_by_person = PersonPagesSerializer(many=True)
    pages = serializers.IntegerField()
    off_hours_pages = serializers.IntegerField()
    sleep_interruptions = serializers.IntegerField()
    escalated_beyond_first_step = serializers.IntegerField()
    acks_by_channel = serializers.DictField(child=serializers.IntegerField())


class LoadRowSerializer(PersonPagesSerializer):
    oncall_seconds = serializers.IntegerField()


class SpreadSerializer(serializers.Serializer):
    coefficient_of_variation = serializers.FloatField(allow_null=True)
    max_min_ratio = serializers.FloatField(allow_null=True)


class OnCallLoadSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    rows = LoadRowSerializer(many=True)
    spread = SpreadSerializer()


PERIOD = [
    OpenApiParameter(
        "start",
        str,
        description="ISO 8601 date (midnight in your time zone) or date and time (default: 30 days before the end).",
    ),
    OpenApiParameter(
        "end",
        str,
        description="ISO 8601 date (its whole day counts) or date and time (default: now). At most 366 days.",
    ),
    OpenApiParameter("team", int, description="Only this team's services and schedules (a team id)."),
    OpenApiParameter("format", str, enum=["json", "csv"], description="csv: the figures as a CSV download."),
]
JSON = "application/json"
ERRORS = {
    (400, JSON): OpenApiResponse(OpenApiTypes.OBJECT, description="Unreadable parameters; the message names them."),
    (404, JSON): OpenApiResponse(OpenApiTypes.OBJECT, description="No such service, schedule or team (or not yours)."),
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="With format=csv: the figures as CSV."),
}


class ReportView(APIView):
    permission_classes = [ReportPermission]
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]
    filename = "report"

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors are JSON, even for a CSV download.
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    def figures(self, request):
        raise NotImplementedError

    def get(self, request):
        params = request.query_params
        try:
            team = reports.visible_team(request.user, params.get("team"))
            period = reports.parse_period(
                params.get("start", ""), params.get("end", ""), zone=viewer_zone(request.user)
            )
            data, rows = self.figures(request, team=team, period=period)
        except reports.ReportError as exc:
            if exc.status == 404:
                raise exceptions.NotFound(exc.message) from None
            raise exceptions.ValidationError({exc.field: [exc.message]}) from None
        if getattr(request.accepted_renderer, "format", "") == "csv":
            stamp = timezone.localtime(period.start, viewer_zone(request.user)).strftime("%Y%m%d")
            response = Response(list(rows(data)), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{self.filename}-{stamp}.csv"'
            return response
        return Response(self.serializer_class(data).data)


class IncidentReportView(ReportView):
    """Incident figures over a period: counts, time to acknowledge and resolve, pages and who got them."""

    serializer_class = IncidentReportSerializer
    filename = "incidents"

    @extend_schema(
        operation_id="reports_incidents",
        parameters=[OpenApiParameter("service", str, description="Service id or slug."), *PERIOD],
        responses={(200, JSON): IncidentReportSerializer, **ERRORS},
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def figures(self, request, *, team, period):
        services = reports.scoped_services(request.user, service=request.query_params.get("service"), team=team)
        return reports.incident_report(services=services, period=period), reports.incident_csv_rows


class OnCallLoadView(ReportView):
    """On-call load per person over a period: on-call seconds, pages, off-hours pages, sleep interruptions."""

    serializer_class = OnCallLoadSerializer
    filename = "oncall-load"

    @extend_schema(
        operation_id="reports_oncall_load",
        parameters=[OpenApiParameter("schedule", int, description="Schedule id."), *PERIOD],
        responses={(200, JSON): OnCallLoadSerializer, **ERRORS},
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def figures(self, request, *, team, period):
        schedules = reports_load.scoped_schedules(
            request.user, schedule=request.query_params.get("schedule"), team=team
        )
        services = reports.scoped_services(request.user, team=team)
        return reports_load.oncall_load(schedules=schedules, services=services, period=period), (
            reports_load.load_csv_rows
        )
