"""Demo data for schedules: "Platform", a weekly rotation of four people in Europe/Zurich
with an office-hours layer on top, and a calendar feed."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from project.roles import RESPONDERS
from rotations.models import CalendarFeed, Layer, Override, Schedule

ZONE = ZoneInfo("Europe/Zurich")
DEMO_PEOPLE = (
    ("alice", "Alice", "Martin"),
    ("bruno", "Bruno", "Keller"),
    ("chiara", "Chiara", "Rossi"),
    ("david", "David", "Meier"),
)


def load(*, stdout, admin):
    User = get_user_model()
    responders = Group.objects.filter(name=RESPONDERS).first()
    people = []
    for username, first, last in DEMO_PEOPLE:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com", "is_staff": True},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            if responders:
                user.groups.add(responders)
        people.append(user)

    schedule, created = Schedule.objects.get_or_create(
        name="Platform",
        defaults={"description": "Whoever keeps the website and its API running.", "time_zone": "Europe/Zurich"},
    )
    if not created:
        return
    today = timezone.localtime(timezone.now(), ZONE).date()
    monday = today - timedelta(days=today.weekday())
    start = datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=ZONE) - timedelta(weeks=4)
    weekly = Layer.objects.create(
        schedule=schedule, name="Weekly", priority=0, rotation_start=start, shift_length=1, shift_unit=Layer.Unit.WEEKS
    )
    weekly.set_participants(people)
    office = Layer.objects.create(
        schedule=schedule,
        name="Office hours",
        priority=10,
        rotation_start=start,
        shift_length=1,
        shift_unit=Layer.Unit.DAYS,
        restrictions=[{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
    )
    office.set_participants([people[1], people[2]])
    swap_day = monday + timedelta(days=10)
    Override.objects.create(
        schedule=schedule,
        user=people[3],
        start=datetime(swap_day.year, swap_day.month, swap_day.day, 18, 0, tzinfo=ZONE),
        end=datetime(swap_day.year, swap_day.month, swap_day.day, 23, 0, tzinfo=ZONE),
        reason="Covers for a concert evening",
        created_by=admin,
    )
    feed = CalendarFeed.objects.create(schedule=schedule, created_by=admin)
    stdout.write(f"Schedule: Platform (weekly rotation of {len(people)}, Europe/Zurich); calendar {feed.url}")
