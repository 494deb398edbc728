# Contact methods, notification rules and profiles move here from `comms`.
# Their tables stay where they are (db_table): only Django's idea of which app
# holds them changes, so no row is copied. Their content types follow, so
# permissions and admin history keep pointing at them.

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import project.text

MOVED = ("contactmethod", "notificationrule", "profile")


def move_content_types(apps, schema_editor, source="comms", target="people"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            continue
        ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="people", target="comms")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("comms", "0006_updatecadence_severity"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ContactMethod",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("email", "E-mail"), ("sms", "SMS"), ("whatsapp", "WhatsApp"), ("voice", "Voice call"), ("slack", "Slack"), ("telegram", "Telegram"), ("webhook", "Webhook"), ("apprise", "Other (Apprise URL)")], max_length=20, verbose_name="kind")),
                        ("address", models.CharField(help_text="E-mail address; phone number in E.164 form (+41791234567) for SMS, WhatsApp and voice; Slack incoming-webhook URL; Telegram chat id; webhook URL; or any Apprise URL.", max_length=500, verbose_name="address")),
                        ("label", models.CharField(blank=True, help_text="E.g. 'work phone'.", max_length=100, verbose_name="label")),
                        ("enabled", models.BooleanField(default=True, verbose_name="enabled")),
                        ("secret", models.CharField(default=project.text.generate_secret, editable=False, help_text="Webhooks are signed with HMAC-SHA256 of the body under this secret (X-Piquet-Signature).", max_length=64, verbose_name="signing secret")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="created at")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="contact_methods", to=settings.AUTH_USER_MODEL, verbose_name="person")),
                    ],
                    options={
                        "verbose_name": "contact method",
                        "verbose_name_plural": "contact methods",
                        "db_table": "comms_contactmethod",
                        "ordering": ["user_id", "kind", "id"],
                    },
                ),
                migrations.CreateModel(
                    name="NotificationRule",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("delay_minutes", models.PositiveIntegerField(default=0, help_text="Minutes after being paged; 0 means at once.", validators=[django.core.validators.MaxValueValidator(1440)], verbose_name="delay (minutes)")),
                        ("contact_method", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="rules", to="people.contactmethod", verbose_name="contact method")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="notification_rules", to=settings.AUTH_USER_MODEL, verbose_name="person")),
                    ],
                    options={
                        "verbose_name": "notification rule",
                        "verbose_name_plural": "notification rules",
                        "db_table": "comms_notificationrule",
                        "ordering": ["user_id", "delay_minutes", "id"],
                        "constraints": [models.UniqueConstraint(fields=("contact_method", "delay_minutes"), name="one_rule_per_method_and_delay")],
                    },
                ),
                migrations.CreateModel(
                    name="Profile",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("language", models.CharField(choices=[("en", "English"), ("fr", "French")], default="en", help_text="Language of the pages and messages this person receives.", max_length=10, verbose_name="language")),
                        ("notify_on_acknowledge", models.BooleanField(default=True, verbose_name="tell me when an incident I was paged for is acknowledged")),
                        ("notify_on_resolve", models.BooleanField(default=True, verbose_name="tell me when an incident I was paged for is resolved")),
                        ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="piquet_profile", to=settings.AUTH_USER_MODEL, verbose_name="person")),
                    ],
                    options={
                        "verbose_name": "notification preferences",
                        "verbose_name_plural": "notification preferences",
                        "db_table": "comms_profile",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
