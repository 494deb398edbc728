"""The OpenAPI schema admits every value the API answers with.

A read-only field that DRF builds from a model field loses `allow_blank` (and a
declared nested serializer has no `allow_null` unless given one), so the schema
would promise an enum member, a link or an object where an answer can carry ""
or null. Schemathesis finds these only when the fuzzed data happens to hold such
a row; this walks every serializer the schema is built from.
"""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers


def _schema_serializers():
    generator = SchemaGenerator()
    generator.get_schema(request=None, public=True)
    found = set()
    for _path, _path_regex, _method, view in generator._get_paths_and_endpoints():
        for get in (view.schema.get_request_serializer, view.schema.get_response_serializers):
            try:
                serializer = get()
            except Exception:  # noqa: S112 (a view without a serializer)
                continue
            _collect(serializer, found)
    assert len(found) > 20
    return found


def _collect(serializer, found):
    """`serializer`'s class and those of the serializers nested in it, lists unwrapped."""
    if isinstance(serializer, serializers.ListSerializer):
        serializer = serializer.child
    if not isinstance(serializer, serializers.BaseSerializer) or type(serializer) in found:
        return
    found.add(type(serializer))
    for field in serializer.fields.values():
        _collect(field, found)


def _model_field(serializer_class, field):
    model = getattr(getattr(serializer_class, "Meta", None), "model", None)
    if model is None or not isinstance(field.source, str) or "." in field.source:
        return None
    try:
        return model._meta.get_field(field.source)
    except FieldDoesNotExist:  # a property or a method
        return None


def test_read_only_fields_admit_the_blank_and_null_values_their_model_holds():
    wrong = []
    for serializer_class in _schema_serializers():
        for name, field in serializer_class().fields.items():
            model_field = _model_field(serializer_class, field)
            if not field.read_only or model_field is None or model_field.many_to_many or model_field.one_to_many:
                continue
            if model_field.blank and model_field.get_internal_type() in ("CharField", "TextField"):
                if isinstance(field, serializers.ChoiceField) and not field.allow_blank:
                    wrong.append(f"{serializer_class.__name__}.{name}: blank choice not in the schema")
                if isinstance(field, (serializers.URLField, serializers.EmailField)):
                    wrong.append(f"{serializer_class.__name__}.{name}: blank value is not a {type(field).__name__}")
            if model_field.null and not field.allow_null:
                wrong.append(f"{serializer_class.__name__}.{name}: null not in the schema")
    assert wrong == []
