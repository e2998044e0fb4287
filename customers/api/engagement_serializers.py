"""Input and output shapes of the engagement API (loyalty, cases, feedback, events,
timeline, metrics). Inputs validate; services decide; outputs render."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from rest_framework import serializers

from customers.models import (
    ActivityEvent,
    CaseMessage,
    CasePriority,
    CaseStatus,
    Channel,
    Customer,
    CustomerMetrics,
    Feedback,
    LoyaltyEntry,
    SupportCase,
    TimelineEntry,
)
from customers.services.events import MAX_BATCH
from inventory.models import Location

MAX_PROPERTIES_BYTES = 8192


class LocationCodeField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Location.objects.all())
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(slug_field="code", **kwargs)


class CustomerRefField(serializers.SlugRelatedField):
    """A customer by public ID (merged-away IDs are accepted; services follow them)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Customer.objects.all())
        super().__init__(slug_field="public_id", **kwargs)


class StaffUserField(serializers.PrimaryKeyRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", get_user_model().objects.filter(is_staff=True))
        super().__init__(**kwargs)


# --- loyalty ---


class LoyaltyEntryOut(serializers.ModelSerializer):
    class Meta:
        model = LoyaltyEntry
        fields = [
            "id",
            "kind",
            "points",
            "balance_after",
            "reference_type",
            "reference_id",
            "reason",
            "actor_label",
            "created_at",
        ]


class LoyaltyPolicyOut(serializers.Serializer):
    points_per_unit = serializers.DecimalField(max_digits=8, decimal_places=2)
    currency = serializers.CharField()
    silver_spend = serializers.DecimalField(max_digits=12, decimal_places=2)
    gold_spend = serializers.DecimalField(max_digits=12, decimal_places=2)
    expiry_months = serializers.IntegerField()


class LoyaltySummaryOut(serializers.Serializer):
    customer = serializers.UUIDField()
    balance = serializers.IntegerField()
    tier = serializers.CharField()
    spend_12_months = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    policy = LoyaltyPolicyOut()


class EarnIn(serializers.Serializer):
    reference_type = serializers.CharField(max_length=32, default="order")
    reference_id = serializers.CharField(max_length=100)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    points = serializers.IntegerField(min_value=1, required=False)
    reason = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)

    def validate(self, attrs):
        if ("amount" in attrs) == ("points" in attrs):
            raise serializers.ValidationError("Give either `amount` (spent) or `points`.")
        return attrs


class RedeemIn(serializers.Serializer):
    points = serializers.IntegerField(min_value=1)
    reference_type = serializers.CharField(
        max_length=32, required=False, default="", allow_blank=True
    )
    reference_id = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True
    )
    reason = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class AdjustIn(serializers.Serializer):
    points = serializers.IntegerField(help_text="Positive to add, negative to take away.")
    reason = serializers.CharField(max_length=255)

    def validate_points(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("An adjustment must change the balance.")
        return value


class LoyaltyChangeOut(serializers.Serializer):
    entry = LoyaltyEntryOut(allow_null=True)
    created = serializers.BooleanField()
    balance = serializers.IntegerField()


# --- cases ---


class CaseMessageOut(serializers.ModelSerializer):
    author = serializers.CharField(source="author_label")

    class Meta:
        model = CaseMessage
        fields = ["id", "kind", "body", "channel", "author", "created_at"]


class CaseCustomerOut(serializers.Serializer):
    public_id = serializers.UUIDField()
    name = serializers.CharField(source="full_name")


class CaseOut(serializers.ModelSerializer):
    customer = CaseCustomerOut()
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = SupportCase
        fields = [
            "id",
            "subject",
            "customer",
            "channel",
            "status",
            "priority",
            "assignee",
            "order_reference",
            "location",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
        ]


class CaseContextOut(serializers.Serializer):
    """What a staff member picking the case up needs to know about the customer."""

    identities = serializers.ListField(child=serializers.CharField())
    loyalty_balance = serializers.IntegerField()
    loyalty_tier = serializers.CharField()
    lifecycle_stage = serializers.CharField()
    order_count = serializers.IntegerField()
    other_cases = CaseOut(many=True)


class CaseDetailOut(CaseOut):
    messages = CaseMessageOut(many=True)
    customer_context = CaseContextOut(source="context")

    class Meta(CaseOut.Meta):
        fields = [*CaseOut.Meta.fields, "messages", "customer_context"]


class CaseIn(serializers.Serializer):
    customer = CustomerRefField()
    subject = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Channel.choices)
    body = serializers.CharField(required=False, default="", allow_blank=True)
    priority = serializers.ChoiceField(choices=CasePriority.choices, default=CasePriority.NORMAL)
    order_reference = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True
    )
    location = LocationCodeField()
    assignee = StaffUserField(required=False, allow_null=True)


class CaseStatusIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    expected_status = serializers.ChoiceField(
        choices=CaseStatus.choices,
        required=False,
        help_text="Refuse with 409 `case_changed` unless the case is still in this status.",
    )


class CaseAssignIn(serializers.Serializer):
    assignee = StaffUserField(allow_null=True)


class CaseMessageIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CaseMessage.Kind.choices)
    body = serializers.CharField()
    channel = serializers.ChoiceField(
        choices=Channel.choices, required=False, default="", allow_blank=True
    )


# --- feedback ---


class FeedbackIn(serializers.Serializer):
    customer = CustomerRefField()
    kind = serializers.ChoiceField(choices=Feedback.Kind.choices)
    score = serializers.IntegerField()
    comment = serializers.CharField(required=False, default="", allow_blank=True)
    channel = serializers.ChoiceField(
        choices=Channel.choices, required=False, default="", allow_blank=True
    )
    order_reference = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True
    )
    case = serializers.PrimaryKeyRelatedField(
        queryset=SupportCase.objects.all(), required=False, allow_null=True
    )
    location = LocationCodeField()


class FeedbackOut(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Feedback
        fields = [
            "id",
            "customer",
            "kind",
            "score",
            "comment",
            "channel",
            "order_reference",
            "case",
            "location",
            "created_at",
        ]


# --- events ---


class EventIn(serializers.Serializer):
    event_id = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=ActivityEvent.Type.choices)
    occurred_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=[Channel.WEB, Channel.APP, Channel.STORE])
    device_id = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, default="", allow_blank=True)
    phone = serializers.CharField(
        max_length=32,
        required=False,
        default="",
        allow_blank=True,
        help_text="E.164, e.g. +351912345678.",
    )
    customer = serializers.UUIDField(required=False, allow_null=True, default=None)
    location = serializers.SlugField(max_length=32, required=False, default="", allow_blank=True)
    properties = serializers.DictField(required=False, default=dict)

    def validate_properties(self, value: dict) -> dict:
        # Events are kept for analysis, not as a document store: keep each one small.
        if len(json.dumps(value, default=str)) > MAX_PROPERTIES_BYTES:
            raise serializers.ValidationError(
                f"Properties must be at most {MAX_PROPERTIES_BYTES} bytes of JSON."
            )
        return value

    def validate(self, attrs):
        if not (attrs["device_id"] or attrs["email"] or attrs["phone"] or attrs["customer"]):
            raise serializers.ValidationError(
                "An event needs a device_id, an email, a phone or a customer."
            )
        if attrs["type"] == ActivityEvent.Type.STORE_VISITED and not attrs["location"]:
            raise serializers.ValidationError({"location": "A store visit needs its store."})
        return attrs


class EventBatchIn(serializers.Serializer):
    # Each event is validated on its own, so one bad event is rejected alone.
    events = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=MAX_BATCH
    )


class EventResultOut(serializers.Serializer):
    event_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"])
    errors = serializers.DictField(required=False)


class EventBatchOut(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = EventResultOut(many=True)


# --- timeline and metrics ---


class TimelineEntryOut(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = TimelineEntry
        fields = [
            "id",
            "kind",
            "occurred_at",
            "channel",
            "location",
            "title",
            "data",
            "reference_type",
            "reference_id",
        ]


class CustomerMetricsOut(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    preferred_store = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    is_multichannel = serializers.BooleanField(read_only=True)

    class Meta:
        model = CustomerMetrics
        fields = [
            "customer",
            "currency",
            "order_count",
            "return_count",
            "revenue",
            "discounts",
            "returns",
            "cost_of_goods",
            "average_order_value",
            "first_order_at",
            "last_order_at",
            "recency_days",
            "frequency",
            "monetary",
            "r_score",
            "f_score",
            "m_score",
            "rfm_segment",
            "repurchase_rate",
            "return_rate",
            "lifetime_value",
            "profitability",
            "lifecycle_stage",
            "preferred_channel",
            "preferred_store",
            "channels_used",
            "channel_count",
            "is_multichannel",
            "computed_at",
        ]
