"""What Omni adds to DRF's serializers: fields built once per class.

DRF builds a serializer's fields for every instance it makes, nested ones included: a
`ModelSerializer` inspects its model again, and every serializer deep-copies each field,
which runs the field's `__init__` once more. Rendering one order made some 90 fields that
way, a third of the CPU a till sale costs. The fields depend only on the class (its `Meta`
and declared fields), so `FieldsOnce` keeps the first build and gives each instance
shallow copies of it (`fresh`).

The classes below carry no docstring on purpose: the API schema takes an undocumented
serializer's description from its nearest documented base class.
"""

from __future__ import annotations

import threading

from rest_framework import serializers


def fresh(field: serializers.Field) -> serializers.Field:
    """A copy of a built, unbound field for one serializer instance to bind: its settings
    (validators, choices, querysets) are shared and only read; a nested serializer starts
    without fields of its own, and a list's child is copied for the list's copy."""
    # copy.copy, without its generic reduce protocol (three times slower per field).
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    if isinstance(field, serializers.BaseSerializer):
        clone.__dict__.pop("fields", None)
    if isinstance(field, serializers.ListSerializer):
        # The child was bound to the list when it was built; the copy belongs to the copy.
        clone.child = fresh(field.child)
        clone.child.parent = clone
    return clone


class FieldsOnce:
    # The first instance of each class builds the fields; every instance gets fresh copies.
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            cls._fields_built_once = built
        return {name: fresh(field) for name, field in built.items()}


class ModelSerializer(FieldsOnce, serializers.ModelSerializer):
    pass


class Serializer(FieldsOnce, serializers.Serializer):
    pass


_instances = threading.local()


def _instance(serializer_class: type[serializers.BaseSerializer]):
    """This thread's one instance of the class: its fields are built and bound once and
    serve every call of `render` and `validated` (nested serializers included)."""
    made = _instances.__dict__
    instance = made.get(serializer_class)
    if instance is None:
        instance = made[serializer_class] = serializer_class()
    return instance


def render(serializer_class: type[serializers.BaseSerializer], instance) -> dict:
    """What `serializer_class(instance).data` gives, without building and binding its
    fields for the call. For output serializers that read no context."""
    return _instance(serializer_class).to_representation(instance)


def validated(serializer_class: type[serializers.BaseSerializer], data) -> dict:
    """What `serializer_class(data=data)` validates to; an invalid `data` raises the
    ValidationError `is_valid(raise_exception=True)` would. For input serializers whose
    validation reads no context and no `initial_data`."""
    return _instance(serializer_class).run_validation(data)
