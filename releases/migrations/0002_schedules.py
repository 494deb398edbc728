from django.db import migrations


def register(apps, schema_editor):
    from releases.tasks import register_schedules

    register_schedules(apps.get_model("django_q", "Schedule"))


class Migration(migrations.Migration):
    dependencies = [
        ("releases", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(register, migrations.RunPython.noop)]
