import django_filters
from django.db.models import Q

from customers.errors import InvalidEmail, InvalidPhone
from customers.models import Customer, Identity
from customers.services.identity import normalise_email, normalise_phone


class CustomerFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(method="filter_name", help_text="first or last name prefix")
    email = django_filters.CharFilter(method="filter_email", help_text="exact, any case")
    phone = django_filters.CharFilter(method="filter_phone", help_text="E.164 or with region")
    region = django_filters.CharFilter(
        method="filter_noop", help_text="country for a phone typed without its code"
    )
    city = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(lookup_expr="iexact")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields = ["name", "email", "phone", "city", "country", "created_after", "created_before"]

    def filter_noop(self, queryset, name, value):
        return queryset

    def filter_name(self, queryset, name, value):
        query = Q()
        for word in value.split():
            query &= Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
        return queryset.filter(query)

    def _by_identity(self, queryset, kind, value):
        return queryset.filter(
            pk__in=Identity.objects.filter(kind=kind, namespace="", value=value).values(
                "customer_id"
            )
        )

    def filter_email(self, queryset, name, value):
        try:
            return self._by_identity(queryset, Identity.Kind.EMAIL, normalise_email(value))
        except InvalidEmail:
            return queryset.none()

    def filter_phone(self, queryset, name, value):
        try:
            number = normalise_phone(value, region=self.data.get("region") or None)
        except InvalidPhone:
            return queryset.none()
        return self._by_identity(queryset, Identity.Kind.PHONE, number)
