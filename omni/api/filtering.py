"""Query-string filtering for every list: django-filter, with empty values refused.

django-filter skips a filter whose value is empty, so `?customer=` or `?since=` (or a value
that is only blanks) silently returned everything. A typed filter (an ID, a date, a number,
a choice) given an empty value is bad input: 400 naming the parameter. Free-text filters
keep accepting the empty string, which is a string. A yes/no filter takes true or false
(or 1 and 0): anything else was read as "no filter" and is now 400 too.
"""

from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

BOOLEAN_WORDS = frozenset({"true", "false", "True", "False", "1", "0"})


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        empty = {}
        for name, declared in filterset.filters.items():
            if name not in request.query_params or type(declared.field) is forms.CharField:
                continue
            values = request.query_params.getlist(name)
            if any(not value.strip() for value in values):
                empty[name] = ["Give a value, or leave the parameter out."]
            elif isinstance(declared.field, forms.NullBooleanField) and (
                set(values) - BOOLEAN_WORDS
            ):
                empty[name] = ["true or false."]
        if empty:
            raise ValidationError(empty)
        return filterset
