from incidents.models.core import (
    KEY_LENGTH,
    Alert,
    Incident,
    IncidentCounter,
    IncidentQuerySet,
    Integration,
    Service,
    Severity,
    Status,
    TimelineEntry,
    forget_integrations,
    generate_integration_key,
)
from incidents.models.paging import Escalation, Notification, Page
from incidents.models.process import IncidentEvent, IncidentRole, SeverityDefinition

__all__ = [
    "KEY_LENGTH",
    "Alert",
    "Escalation",
    "Incident",
    "IncidentCounter",
    "IncidentEvent",
    "IncidentQuerySet",
    "IncidentRole",
    "Integration",
    "Notification",
    "Page",
    "Service",
    "Severity",
    "SeverityDefinition",
    "Status",
    "TimelineEntry",
    "forget_integrations",
    "generate_integration_key",
]
