"""Changing a layer without rewriting history."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rotations.models import Layer

CHANGEABLE = ("name", "priority", "shift_length", "shift_unit", "restrictions")


def continue_layer(layer, *, at, participants=None, **changes) -> Layer:
    """End `layer` at `at` and continue it from `at` as a new layer with `changes`.

    The new layer keeps the same `rotation_start` (the same shift grid), the old
    one's end and, unless given, its participants; shifts before `at` stay as they
    were. Raises ValidationError when `at` is outside the layer's life.
    """
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise TypeError(f"continue_layer() cannot change {', '.join(sorted(unknown))}")
    with transaction.atomic():
        layer = Layer.objects.select_for_update().select_related("schedule").get(pk=layer.pk)
        if at <= layer.starts_at:
            raise ValidationError({"at": _("Choose an instant after the layer starts; edit the layer itself instead.")})
        if layer.ends_at is not None and at >= layer.ends_at:
            raise ValidationError({"at": _("The layer has already ended by then.")})
        if participants is None:
            participants = layer.participant_ids()
        new = Layer(
            schedule=layer.schedule,
            name=layer.name,
            priority=layer.priority,
            rotation_start=layer.rotation_start,
            starts_at=at,
            ends_at=layer.ends_at,
            shift_length=layer.shift_length,
            shift_unit=layer.shift_unit,
            restrictions=layer.restrictions,
        )
        for name, value in changes.items():
            setattr(new, name, value)
        new.full_clean()
        layer.ends_at = at
        layer.save(update_fields=["ends_at"])
        new.save()
        new.set_participants(participants)
    return new
