from django.db import migrations


def create_counter(apps, schema_editor):
    Counter = apps.get_model("incidents", "IncidentCounter")
    Counter.objects.using(schema_editor.connection.alias).get_or_create(pk=1, defaults={"value": 0})


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(create_counter, migrations.RunPython.noop)]
