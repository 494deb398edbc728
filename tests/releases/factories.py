"""Factories for release windows, exceptions and deployments."""

from datetime import timedelta

import factory
from django.utils import timezone

from releases.models import Deployment, FreezeException, ReleaseWindow
from tests.factories import ServiceFactory, UserFactory


class ReleaseWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReleaseWindow
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Window {n}")
    kind = ReleaseWindow.Kind.DENY
    enforcement = ReleaseWindow.Enforcement.HARD
    time_zone = "Europe/Zurich"
    start_cron = "0 12 * * 5"
    end_cron = "0 8 * * 1"

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set(extracted)


class FreezeExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FreezeException
        skip_postgeneration_save = True

    reason = "Hotfix for the checkout"
    requested_by = factory.SubFactory(UserFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=3))

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set(extracted)


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deployment

    service = factory.SubFactory(ServiceFactory)
    version = factory.Sequence(lambda n: f"1.0.{n}")
    environment = "production"
    actor = "ci"
    decision = Deployment.Decision.ALLOWED
