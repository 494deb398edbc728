from django.db import migrations

SCHEDULE = {
    "name": "comms: expire unconfirmed subscribers",
    "func": "comms.tasks.expire_unconfirmed_subscribers",
    "schedule_type": "H",
    "repeats": -1,
}


def register(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    values = {k: v for k, v in SCHEDULE.items() if k != "name"}
    Schedule.objects.update_or_create(name=SCHEDULE["name"], defaults=values)


def unregister(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("comms", "0008_status_update_fan_out"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(register, unregister)]
