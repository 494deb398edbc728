from django.urls import include, path
from rest_framework.routers import SimpleRouter

from incidents import twilio_views
from incidents import views as page_views
from incidents.api import ingest_views, maintenance, reports, responders, roles, rules, tasks, views

router = SimpleRouter()
router.register("services", views.ServiceViewSet, basename="service")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("maintenance-windows", maintenance.MaintenanceWindowViewSet, basename="maintenance-window")

integrations = SimpleRouter()
integrations.register("integrations", views.IntegrationViewSet, basename="service-integration")

routing_rules = SimpleRouter()
routing_rules.register("rules", rules.RoutingRuleViewSet, basename="integration-rule")

timeline = SimpleRouter()
timeline.register("timeline", views.TimelineViewSet, basename="incident-timeline")
timeline.register("roles", roles.IncidentRoleViewSet, basename="incident-role")
timeline.register("responders", responders.ResponderRequestViewSet, basename="incident-responder")
timeline.register("tasks", tasks.IncidentTaskViewSet, basename="incident-task")

urlpatterns = [
    path("v2/enqueue", ingest_views.EventsV2View.as_view(), name="events-v2-enqueue"),
    path("api/v1/events/", ingest_views.EventsAliasView.as_view(), name="events-v2"),
    path(
        "api/v1/integrations/alertmanager/",
        ingest_views.AlertmanagerBearerView.as_view(),
        name="alertmanager-webhook-bearer",
    ),
    path(
        "api/v1/integrations/<str:key>/alertmanager/",
        ingest_views.AlertmanagerView.as_view(),
        name="alertmanager-webhook",
    ),
    path(
        "api/v1/integrations/<str:key>/heartbeat/",
        ingest_views.HeartbeatView.as_view(),
        name="heartbeat-ping",
    ),
    path("api/v1/integrations/webhook/", ingest_views.WebhookBearerView.as_view(), name="generic-webhook-bearer"),
    path("api/v1/integrations/<str:key>/webhook/", ingest_views.WebhookView.as_view(), name="generic-webhook"),
    path("ack/<str:token>/", page_views.ack_link, name="incident-ack-link"),
    path("respond/<str:token>/", page_views.respond_link, name="responder-request-link"),
    path("api/v1/twilio/messages/", twilio_views.inbound_message, name="twilio-inbound"),
    path("api/v1/twilio/voice/<str:token>/", twilio_views.voice, name="twilio-voice"),
    path("api/v1/reports/incidents/", reports.IncidentReportView.as_view(), name="report-incidents"),
    path("api/v1/reports/oncall-load/", reports.OnCallLoadView.as_view(), name="report-oncall-load"),
    path("api/v1/twilio/respond/<str:token>/", twilio_views.respond_voice, name="twilio-voice-respond"),
    path("api/v1/", include(router.urls)),
    path("api/v1/services/<int:service_pk>/", include(integrations.urls)),
    path("api/v1/incidents/<int:incident_pk>/", include(timeline.urls)),
    path("api/v1/integrations/<int:integration_pk>/", include(routing_rules.urls)),
]
