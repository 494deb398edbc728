from incidents.models.choices import (
    PUBLIC_STATUS_RANK,
    AckChannel,
    IncidentType,
    PublicStatus,
    Severity,
    Status,
    Urgency,
)
from incidents.models.core import (
    KEY_LENGTH,
    OPEN_STATUS_SQL,
    Alert,
    Incident,
    IncidentCounter,
    IncidentQuerySet,
    Integration,
    TimelineEntry,
    forget_integrations,
    generate_integration_key,
)
from incidents.models.maintenance import MaintenanceWindow, maintenance_at
from incidents.models.merging import DedupAlias
from incidents.models.notices import Notice, ShiftCheck
from incidents.models.paging import Escalation, Notification, Page
from incidents.models.plays import IncidentTask, Play, PlayRun, PlayTask
from incidents.models.process import IncidentEvent, IncidentRole, SeverityDefinition
from incidents.models.responders import MAX_REQUEST_MESSAGE, ResponderEscalation, ResponderRequest
from incidents.models.rules import RoutingRule, SuppressedEvent
from incidents.models.services import Service, ServiceStatusChange

__all__ = [
    "KEY_LENGTH",
    "MAX_REQUEST_MESSAGE",
    "OPEN_STATUS_SQL",
    "PUBLIC_STATUS_RANK",
    "AckChannel",
    "Alert",
    "DedupAlias",
    "Escalation",
    "Incident",
    "IncidentCounter",
    "IncidentEvent",
    "IncidentQuerySet",
    "IncidentRole",
    "IncidentTask",
    "IncidentType",
    "Integration",
    "MaintenanceWindow",
    "Notice",
    "Notification",
    "Page",
    "Play",
    "PlayRun",
    "PlayTask",
    "PublicStatus",
    "ResponderEscalation",
    "ResponderRequest",
    "RoutingRule",
    "Service",
    "ServiceStatusChange",
    "Severity",
    "SeverityDefinition",
    "ShiftCheck",
    "Status",
    "SuppressedEvent",
    "TimelineEntry",
    "Urgency",
    "forget_integrations",
    "generate_integration_key",
    "maintenance_at",
]
