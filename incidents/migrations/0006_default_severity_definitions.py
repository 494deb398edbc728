from django.db import migrations

DEFAULTS = [
    ("SEV1", "SEV1: the site is down for everyone.", True, 30, ["commander", "communications"]),
    ("SEV2", "SEV2: a major feature is broken for many people.", True, 60, ["commander", "communications"]),
    ("SEV3", "SEV3: a minor feature is degraded; there is a workaround.", True, 240, []),
    ("SEV4", "SEV4: cosmetic or internal; nobody outside the team notices.", False, None, []),
]


def create(apps, schema_editor):
    SeverityDefinition = apps.get_model("incidents", "SeverityDefinition")
    for severity, description, inform, cadence, roles in DEFAULTS:
        SeverityDefinition.objects.get_or_create(
            severity=severity,
            defaults={
                "description": description,
                "inform_stakeholders": inform,
                "update_cadence_minutes": cadence,
                "required_roles": roles,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0005_severitydefinition_incidentrole")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
