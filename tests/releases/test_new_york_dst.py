"""A freeze defined in America/New_York keeps its local hours across both 2026 clock changes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from project import recurrence as windows
from releases.models import ReleaseWindow
from tests.releases.factories import ReleaseWindowFactory

NEW_YORK = ZoneInfo("America/New_York")
WEEKEND = {"start_cron": "0 12 * * 5", "end_cron": "0 8 * * 1", "time_zone": "America/New_York"}


def ny(*args):
    return datetime(*args, tzinfo=NEW_YORK)


def test_weekend_freeze_over_spring_forward_is_one_hour_shorter():
    w = ReleaseWindow(name="w", **WEEKEND)
    occurrence = windows.occurrence_at(w, ny(2026, 3, 7, 12, 0))
    assert occurrence.start == ny(2026, 3, 6, 12, 0)
    assert occurrence.end == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert occurrence.end - occurrence.start == timedelta(hours=67)


def test_weekend_freeze_over_fall_back_is_one_hour_longer():
    w = ReleaseWindow(name="w", **WEEKEND)
    occurrence = windows.occurrence_at(w, ny(2026, 10, 31, 12, 0))
    assert occurrence.end == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert occurrence.end - occurrence.start == timedelta(hours=69)


@pytest.mark.django_db
def test_gate_in_new_york_opens_at_eight_local_on_the_monday_after_the_change(api_for, responder, service):
    ReleaseWindowFactory(name="Weekend freeze", **WEEKEND)
    api = api_for(responder)

    def allowed(local):
        response = api.get("/api/v1/releases/gate/", {"service": service.slug, "at": local.isoformat()})
        assert response.status_code == 200, response.content
        return response.json()["allowed"]

    assert allowed(ny(2026, 3, 9, 7, 59)) is False
    assert allowed(ny(2026, 3, 9, 8, 0)) is True
    assert allowed(ny(2026, 11, 2, 7, 59)) is False
    assert allowed(ny(2026, 11, 2, 8, 0)) is True
