"""Factories for the whole suite. Apps add theirs in tests/<app>/factories.py."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from incidents.models import Incident, Integration, Service, Severity


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))
        if create:
            self.save()


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    service = factory.SubFactory(ServiceFactory)
    name = "Monitoring"
    kind = Integration.Kind.EVENTS_V2


class IncidentFactory(factory.django.DjangoModelFactory):
    """An incident opened through the lifecycle, as production code opens them."""

    class Meta:
        model = Incident

    service = factory.SubFactory(ServiceFactory)
    title = factory.Sequence(lambda n: f"Something broke {n}")
    severity = Severity.SEV2
    dedup_key = factory.Sequence(lambda n: f"key-{n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from django.db import transaction

        from incidents import opening

        with transaction.atomic():
            incident, _created = opening.open_or_join(
                service=kwargs["service"],
                dedup_key=kwargs["dedup_key"],
                title=kwargs["title"],
                severity=kwargs["severity"],
                actor_name="Factory",
            )
        return incident
