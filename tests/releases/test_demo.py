from io import StringIO

import pytest
from django.core.management import call_command

from releases.models import ReleaseWindow

pytestmark = pytest.mark.django_db


def test_demo_loads_the_two_zurich_freezes_once():
    call_command("load_demo", stdout=StringIO())
    call_command("load_demo", "--force", stdout=StringIO())
    windows = {w.name: w for w in ReleaseWindow.objects.all()}
    assert set(windows) == {"Weekend freeze", "Evening freeze"}
    assert (windows["Weekend freeze"].start_cron, windows["Weekend freeze"].end_cron) == ("0 12 * * 5", "0 8 * * 1")
    assert (windows["Evening freeze"].start_cron, windows["Evening freeze"].end_cron) == ("0 16 * * 1-4", "0 8 * * 2-5")
    assert {w.time_zone for w in windows.values()} == {"Europe/Zurich"}
    for window in windows.values():
        window.full_clean()
