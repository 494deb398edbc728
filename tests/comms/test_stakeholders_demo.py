from io import StringIO

import pytest
from django.core.management import call_command

from comms.models import StakeholderGroup
from incidents.models import SeverityDefinition

pytestmark = pytest.mark.django_db


def test_demo_loads_severities_and_a_stakeholder_group_once():
    SeverityDefinition.objects.all().delete()
    out = StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", "--force", stdout=StringIO())

    cadences = dict(SeverityDefinition.objects.values_list("severity", "update_cadence_minutes"))
    assert cadences == {"SEV1": 30, "SEV2": 60, "SEV3": 240, "SEV4": None}
    assert not SeverityDefinition.objects.get(severity="SEV4").inform_stakeholders
    [group] = StakeholderGroup.objects.all()
    assert [s.slug for s in group.services.all()] == ["website"]
    assert [u.username for u in group.members.all()] == ["admin"]
    assert sorted(group.subscribers.values_list("language", flat=True)) == ["de", "en", "fr", "it"]
    assert "/status/" in out.getvalue()
