import django_filters
from django.db.models import Exists, OuterRef, Q

from orders.models import Fulfilment, Order, SalesChannel


class OrderFilter(django_filters.FilterSet):
    channel = django_filters.ChoiceFilter(choices=SalesChannel.choices)
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    location = django_filters.CharFilter(
        method="filter_location",
        label="Location code: placed there, or fulfilled from or collected there",
    )
    customer = django_filters.UUIDFilter(
        field_name="customer__public_id", label="Customer public id"
    )
    number = django_filters.CharFilter(field_name="number", lookup_expr="iexact")
    client_reference = django_filters.CharFilter()
    placed_after = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["channel", "status", "location", "customer", "number", "client_reference"]

    def filter_location(self, queryset, name, value):
        touches = Fulfilment.objects.filter(order=OuterRef("pk"), location__code=value)
        return queryset.filter(Q(location__code=value) | Exists(touches))
