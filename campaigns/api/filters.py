import django_filters

from campaigns.models import Campaign, Delivery, DeliveryChannel


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Campaign.Kind.choices)
    channel = django_filters.ChoiceFilter(
        choices=DeliveryChannel.choices,
        field_name="channels",
        lookup_expr="contains",
        method="filter_channel",
    )
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Campaign
        fields = ["status", "kind", "channel", "name"]

    def filter_channel(self, queryset, name, value):
        return queryset.filter(channels__contains=[value])


class DeliveryFilter(django_filters.FilterSet):
    campaign = django_filters.UUIDFilter(field_name="campaign__public_id")
    customer = django_filters.UUIDFilter(field_name="customer__public_id")
    state = django_filters.ChoiceFilter(choices=Delivery.State.choices)
    skip_reason = django_filters.ChoiceFilter(choices=Delivery.SkipReason.choices)
    channel = django_filters.ChoiceFilter(choices=DeliveryChannel.choices)
    step_key = django_filters.CharFilter()

    class Meta:
        model = Delivery
        fields = ["campaign", "customer", "state", "skip_reason", "channel", "step_key"]
