from django.db import migrations

SCHEDULE = {
    "name": "reviews: remind overdue action items",
    "func": "reviews.tasks.remind_overdue_action_items",
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
        ("reviews", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(register, unregister)]
