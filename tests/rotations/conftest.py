import pytest

from tests.factories import UserFactory


@pytest.fixture
def people(db):
    """Four people to put in rotations: ann, ben, cat, dan."""
    return [
        UserFactory(username=name, first_name=name.title(), last_name="Oncall") for name in ("ann", "ben", "cat", "dan")
    ]
