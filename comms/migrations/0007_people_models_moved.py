# Contact methods, notification rules and profiles now belong to `people`
# (people/0001 took them over with their tables): comms forgets them.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("comms", "0006_updatecadence_severity"),
        ("incidents", "0008_notification_outbox"),
        ("people", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="contact_method",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="people.contactmethod"),
                ),
                migrations.DeleteModel(name="NotificationRule"),
                migrations.DeleteModel(name="Profile"),
                migrations.DeleteModel(name="ContactMethod"),
            ],
            database_operations=[],
        ),
    ]
