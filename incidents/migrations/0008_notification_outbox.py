# Notifications become rows of the one outbox (delivery.models.OutboxMessage):
# their contact method now lives in `people` (same table), the provider's answer
# is called `response` (same column), and a claim token is added so that a
# batch of notifications is claimed the way every message is.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0007_remove_escalation_version"),
        ("people", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="notification",
                    name="contact_method",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="people.contactmethod", verbose_name="contact method"),
                ),
                migrations.RenameField(model_name="notification", old_name="provider_response", new_name="response"),
                migrations.AlterField(
                    model_name="notification",
                    name="response",
                    field=models.TextField(blank=True, db_column="provider_response", verbose_name="provider response"),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="notification",
            name="claim",
            field=models.CharField(blank=True, default="", editable=False, help_text="Who is sending it now.", max_length=32),
            preserve_default=False,
        ),
    ]
