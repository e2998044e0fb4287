"""Query-string filtering for every list: django-filter, with empty values refused.

django-filter skips a filter whose value is empty, so `?customer=` or `?since=` (or a value
that is only blanks) silently returned everything. A typed filter (an ID, a date, a number,
a choice) given an empty value is bad input: 400 naming the parameter. Free-text filters
keep accepting the empty string, which is a string.
"""

from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        empty = {}
        for name, declared in filterset.filters.items():
            if name not in request.query_params or type(declared.field) is forms.CharField:
                continue
            if any(not value.strip() for value in request.query_params.getlist(name)):
                empty[name] = ["Give a value, or leave the parameter out."]
        if empty:
            raise ValidationError(empty)
        return filterset
