from django.db import migrations, models


def fill(apps, schema_editor):
    # Major incidents (SEV1, SEV2) are reviewed; the rest only when someone asks for a review.
    SeverityDefinition = apps.get_model("incidents", "SeverityDefinition")
    SeverityDefinition.objects.filter(severity__in=["SEV1", "SEV2"]).update(requires_review=True)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0024_timeline_kinds")]

    operations = [
        migrations.AddField(
            model_name="severitydefinition",
            name="requires_review",
            field=models.BooleanField(
                default=False,
                help_text="A post-incident review is drafted from the record when an incident of this severity is resolved.",
                verbose_name="requires a review",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
