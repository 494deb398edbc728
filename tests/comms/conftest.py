"""Fixtures for stakeholder communications: groups, subscribers, posting and running tasks for real."""

import pytest

from comms.models import StakeholderGroup, Subscriber
from people.models import ContactMethod, Profile
from tests.factories import IncidentFactory, UserFactory


@pytest.fixture
def customers(db, service):
    """A stakeholder group told of SEV1 and SEV2 incidents of the website."""
    group = StakeholderGroup.objects.create(name="Customers", min_severity="SEV2")
    group.services.add(service)
    return group


@pytest.fixture
def claire(db, customers):
    """A French-speaking member of the group, reached by e-mail."""
    user = UserFactory(username="claire", first_name="Claire", last_name="Dubois", email="claire@example.com")
    Profile.objects.create(user=user, language="fr")
    ContactMethod.objects.create(user=user, kind=ContactMethod.Kind.EMAIL, address="claire@example.com")
    customers.members.add(user)
    return user


def add_subscriber(group, kind, address, **fields):
    return Subscriber.objects.create(group=group, kind=kind, address=address, **fields)


@pytest.fixture
def sev1(service):
    return IncidentFactory(service=service, title="Checkout answers 502", severity="SEV1", dedup_key="checkout")
