"""Demo data for stakeholder communications: the severity definitions and a stakeholder group."""

from django.conf import settings

from comms.models import MessageTemplate, StakeholderGroup, Subscriber
from comms.wording import DEFAULT_TEMPLATES
from incidents.models import Service, SeverityDefinition


def load(*, stdout, admin):

    for severity in ("SEV1", "SEV2", "SEV3", "SEV4"):
        default = SeverityDefinition.default(severity)
        SeverityDefinition.objects.get_or_create(
            severity=severity,
            defaults={
                "description": default.description,
                "inform_stakeholders": default.inform_stakeholders,
                "update_cadence_minutes": default.update_cadence_minutes,
                "required_roles": default.required_roles,
                "requires_review": default.requires_review,
            },
        )
    for purpose, texts in DEFAULT_TEMPLATES.items():
        for language, body in texts.items():
            MessageTemplate.objects.get_or_create(purpose=purpose, language=language, defaults={"body": body})
    group, created = StakeholderGroup.objects.get_or_create(
        name="Customers and management", defaults={"min_severity": "SEV2"}
    )
    if created:
        group.services.add(*Service.objects.filter(slug="website"))
        group.members.add(admin)
        for address, language in (
            ("stakeholders@example.com", "en"),
            ("direction@example.com", "fr"),
            ("vertrieb@example.com", "de"),
            ("assistenza@example.com", "it"),
        ):
            Subscriber.objects.get_or_create(
                group=group, kind=Subscriber.Kind.EMAIL, address=address, defaults={"language": language}
            )
    stdout.write(f"  Public status page: {settings.PIQUET_BASE_URL}/status/")
