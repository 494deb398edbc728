"""The words incidents are told in: severity, urgency, status, a service's public status."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from rotations.restrictions import ScheduleError, parse_restrictions


class Severity(models.TextChoices):
    SEV1 = "SEV1", _("SEV1 – critical")
    SEV2 = "SEV2", _("SEV2 – major")
    SEV3 = "SEV3", _("SEV3 – minor")
    SEV4 = "SEV4", _("SEV4 – informational")


class IncidentType(models.TextChoices):
    """What kind of trouble an incident is: plays apply to some types."""

    AVAILABILITY = "availability", _("Availability")
    SECURITY = "security", _("Security")
    DATA_LOSS = "data_loss", _("Data loss")
    PERFORMANCE = "performance", _("Performance")
    OTHER = "other", _("Other")


def validate_severities(value):
    if not isinstance(value, list) or any(item not in Severity.values for item in value):
        raise ValidationError(_("Give a list of severities among %(all)s.") % {"all": ", ".join(Severity.values)})


def validate_incident_types(value):
    if not isinstance(value, list) or any(item not in IncidentType.values for item in value):
        raise ValidationError(
            _("Give a list of incident types among %(all)s.") % {"all": ", ".join(IncidentType.values)}
        )


class Urgency(models.TextChoices):
    HIGH = "high", _("High")
    LOW = "low", _("Low")


def default_high_urgency():
    return [Severity.SEV1, Severity.SEV2]


def validate_high_urgency(value):
    if not isinstance(value, list) or any(item not in Severity.values for item in value):
        raise ValidationError(_("Give a list of severities among %(all)s.") % {"all": ", ".join(Severity.values)})


def validate_support_hours(value):
    if not isinstance(value, list):
        raise ValidationError(_("Give a list of {days, start, end} ranges; an empty list means at any hour."))
    try:
        parse_restrictions(value)
    except ScheduleError as exc:
        raise ValidationError(str(exc)) from None


class Status(models.TextChoices):
    TRIGGERED = "triggered", _("Triggered")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class AckChannel(models.TextChoices):
    """Where an acknowledgement came from: kept in its timeline entry's data (reports count them)."""

    LINK = "link", _("Link in a message")
    ADMIN = "admin", _("Web (admin)")
    API = "api", _("API")
    SMS = "sms", _("SMS or WhatsApp reply")
    VOICE = "voice", _("Voice call key press")
    INTEGRATION = "integration", _("Monitoring integration")
    CHAT = "chat", _("Chat")
    UNKNOWN = "unknown", _("Unknown (before channels were recorded)")


class PublicStatus(models.TextChoices):
    """A service's state as the public status page tells it: set by a person, never by an alert."""

    OPERATIONAL = "operational", _("Operational")
    DEGRADED_PERFORMANCE = "degraded_performance", _("Degraded performance")
    PARTIAL_OUTAGE = "partial_outage", _("Partial outage")
    MAJOR_OUTAGE = "major_outage", _("Major outage")
    UNDER_MAINTENANCE = "under_maintenance", _("Under maintenance")


# Worst first is last: the page shows a day, or the whole page, as its worst state.
PUBLIC_STATUS_RANK = {
    PublicStatus.OPERATIONAL: 0,
    PublicStatus.UNDER_MAINTENANCE: 1,
    PublicStatus.DEGRADED_PERFORMANCE: 2,
    PublicStatus.PARTIAL_OUTAGE: 3,
    PublicStatus.MAJOR_OUTAGE: 4,
}
