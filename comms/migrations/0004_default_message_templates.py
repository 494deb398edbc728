from django.db import migrations

from comms.wording import DEFAULT_TEMPLATES


def create(apps, schema_editor):
    MessageTemplate = apps.get_model("comms", "MessageTemplate")
    for purpose, texts in DEFAULT_TEMPLATES.items():
        for language, body in texts.items():
            MessageTemplate.objects.get_or_create(purpose=purpose, language=language, defaults={"body": body})


class Migration(migrations.Migration):
    dependencies = [("comms", "0003_messagetemplate_stakeholdergroup_statusupdate_and_more")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
