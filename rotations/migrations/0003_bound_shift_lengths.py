# Layers saved before shift lengths were bounded may hold lengths that overflow
# every date computation (3,000,000 days): they are brought to the longest shift
# of their unit, a year, so that their schedule can be computed again.

from django.db import migrations

MAX_SHIFT_LENGTH = {"hours": 8760, "days": 366, "weeks": 53, "months": 12}


def bound(apps, schema_editor):
    Layer = apps.get_model("rotations", "Layer")
    for unit, longest in MAX_SHIFT_LENGTH.items():
        Layer.objects.filter(shift_unit=unit, shift_length__gt=longest).update(shift_length=longest)


class Migration(migrations.Migration):

    dependencies = [("rotations", "0002_escalation_policies")]

    operations = [migrations.RunPython(bound, migrations.RunPython.noop)]
