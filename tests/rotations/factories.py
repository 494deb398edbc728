"""Factories for schedules, layers and overrides."""

from datetime import UTC, datetime

import factory

from rotations.models import CalendarFeed, Layer, Override, Schedule
from tests.factories import UserFactory


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Schedule

    name = factory.Sequence(lambda n: f"Schedule {n}")
    time_zone = "Europe/Zurich"


class LayerFactory(factory.django.DjangoModelFactory):
    """A layer; pass `participants=[user, …]` (in rotation order)."""

    class Meta:
        model = Layer
        skip_postgeneration_save = True

    schedule = factory.SubFactory(ScheduleFactory)
    name = factory.Sequence(lambda n: f"Layer {n}")
    rotation_start = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
    shift_length = 1
    shift_unit = Layer.Unit.WEEKS

    @factory.post_generation
    def participants(self, create, extracted, **kwargs):
        if create and extracted:
            self.set_participants(extracted)


class OverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Override

    schedule = factory.SubFactory(ScheduleFactory)
    user = factory.SubFactory(UserFactory)
    start = datetime(2024, 1, 3, 12, 0, tzinfo=UTC)
    end = datetime(2024, 1, 3, 18, 0, tzinfo=UTC)
    reason = "Swap"


class CalendarFeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CalendarFeed
