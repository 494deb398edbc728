from datetime import UTC, datetime
from io import StringIO

import time_machine
from django.core.management import call_command

from rotations import oncall
from rotations.models import Schedule


def test_demo_loads_a_covered_platform_schedule_once(db):
    with time_machine.travel(datetime(2024, 6, 5, 10, tzinfo=UTC), tick=False):
        out = StringIO()
        call_command("load_demo", stdout=out)
        call_command("load_demo", "--force", stdout=StringIO())

        schedule = Schedule.objects.get(name="Platform")
        assert Schedule.objects.count() == 1
        assert schedule.layers.count() == 2
        assert [u.username for u in oncall.users_on_call(schedule)] in (["bruno"], ["chiara"])
        assert not oncall.gaps(schedule, datetime(2024, 6, 5, tzinfo=UTC), datetime(2024, 7, 5, tzinfo=UTC))
        assert "Schedule: Platform" in out.getvalue()
