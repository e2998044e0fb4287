"""Serializers of till sales and returns; shared fields and the order shapes come from
`orders.api.serializers`."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from omni.api.serializers import ModelSerializer, Serializer
from orders.api.serializers import (
    CheckoutLineIn,
    CodeChoiceField,
    DeliveryIn,
    LocationCodeField,
    OrderLineOut,
    OrderListOut,
    OrderOut,
    money,
)
from orders.models import Payment, Refund, Return, ReturnLine, SalesChannel

# --- POS sales ---------------------------------------------------------------------------


class TillLineIn(Serializer):
    sku = serializers.CharField(max_length=64, help_text="SKU code.")
    quantity = serializers.IntegerField(min_value=1, max_value=999)
    unit_price = money(
        min_value=Decimal(0), required=False, help_text="The till's price; else the catalogue's."
    )
    discount = money(min_value=Decimal(0), default=Decimal(0), help_text="Line discount given.")


class TillPaymentIn(Serializer):
    method = CodeChoiceField(Payment.Method.choices)
    amount = money(min_value=Decimal("0.01"))
    external_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )


class IdentityIn(Serializer):
    kind = serializers.CharField(max_length=32, help_text="email, phone, loyalty_card, ...")
    value = serializers.CharField(max_length=255)


class TillSaleIn(Serializer):
    client_reference = serializers.CharField(
        max_length=64, help_text="The register's transaction id; unique per register."
    )
    location = LocationCodeField(
        required=False,
        allow_null=True,
        help_text="Store code; defaults to the register token's one location.",
    )
    sold_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When it happened (offline sales post later)."
    )
    lines = TillLineIn(many=True, allow_empty=False, max_length=500)
    payments = TillPaymentIn(many=True, required=False, default=list)
    customer_identities = IdentityIn(
        many=True, required=False, default=list, help_text="Who bought, if known."
    )
    discount_code = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    currency = serializers.CharField(min_length=3, max_length=3, default="EUR")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class TillSaleOut(Serializer):
    replayed = serializers.BooleanField(help_text="True: this sale was already recorded.")
    order = OrderOut()


# --- Returns -----------------------------------------------------------------------------


class ReturnLineIn(Serializer):
    order_line = serializers.IntegerField(help_text="The order line's id.")
    quantity = serializers.IntegerField(min_value=1, max_value=999)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ReturnStartIn(Serializer):
    order = serializers.CharField(max_length=20, help_text="Order number.")
    lines = ReturnLineIn(many=True, allow_empty=False, max_length=200)
    location = LocationCodeField(
        required=False,
        allow_null=True,
        help_text="Where the goods are handed in now (received at once). Empty: requested "
        "online, to be received later. Defaults to the caller's one store.",
    )
    return_channel = CodeChoiceField(
        SalesChannel.choices, required=False, help_text="Where the return was started."
    )
    override_reason = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="A store manager's reason to accept a return outside the policy.",
    )


class ReturnReceiveIn(Serializer):
    location = LocationCodeField(required=False, allow_null=True, help_text="Store code.")


class ReturnInspectLineIn(Serializer):
    line = serializers.IntegerField(help_text="The return line's id.")
    condition = CodeChoiceField(
        [(value, label) for value, label in ReturnLine.Condition.choices if value != "pending"]
    )


class ReturnInspectIn(Serializer):
    lines = ReturnInspectLineIn(many=True, allow_empty=False)


class ExchangeIn(Serializer):
    """The new order an exchange places, paid from the refund."""

    lines = CheckoutLineIn(many=True, allow_empty=False, max_length=50)
    delivery = DeliveryIn()


class ReturnRefundIn(Serializer):
    refund_method = CodeChoiceField(
        [
            (Return.RefundMethod.ORIGINAL_PAYMENT, "Original payment"),
            (Return.RefundMethod.STORE_CREDIT, "Store credit"),
            (Return.RefundMethod.EXCHANGE, "Exchange"),
        ]
    )
    exchange = ExchangeIn(required=False, help_text="Required for an exchange.")

    def validate(self, attrs):
        if (attrs["refund_method"] == Return.RefundMethod.EXCHANGE) != ("exchange" in attrs):
            raise serializers.ValidationError(
                {"exchange": "Give the new order for an exchange, and only for an exchange."}
            )
        return attrs


class ReturnLineOut(ModelSerializer):
    order_line = serializers.IntegerField(source="order_line_id")
    sku = serializers.CharField(source="order_line.sku.code")
    line_condition = serializers.CharField(
        source="condition", help_text="pending, resellable, damaged or defective."
    )
    refund_amount = money()

    class Meta:
        model = ReturnLine
        fields = [
            "id",
            "order_line",
            "sku",
            "quantity",
            "reason",
            "line_condition",
            "refund_amount",
        ]


class RefundOut(ModelSerializer):
    refund_method = serializers.CharField(source="method")
    amount = money()
    payment = serializers.IntegerField(source="payment_id", allow_null=True)

    class Meta:
        model = Refund
        fields = ["refund_method", "amount", "currency", "payment", "created_at"]


class ReturnOut(ModelSerializer):
    order = serializers.CharField(source="order.number")
    customer = serializers.UUIDField(source="customer.public_id", allow_null=True, default=None)
    return_channel = serializers.CharField(source="channel")
    location = serializers.CharField(source="location.code", allow_null=True, default=None)
    return_status = serializers.CharField(
        source="status", help_text="requested, received, inspected, refunded or cancelled."
    )
    refund_method = serializers.CharField()
    refund_total = money()
    currency = serializers.CharField(source="order.currency")
    lines = ReturnLineOut(many=True)
    refunds = RefundOut(many=True)

    class Meta:
        model = Return
        fields = [
            "number",
            "order",
            "customer",
            "return_channel",
            "location",
            "return_status",
            "refund_method",
            "refund_total",
            "currency",
            "policy_verdict",
            "override_reason",
            "lines",
            "refunds",
            "requested_at",
            "received_at",
            "refunded_at",
        ]


class ReturnableLineOut(OrderLineOut):
    returnable_quantity = serializers.IntegerField()
    verdict = serializers.DictField(help_text="The policy's verdict for one unit now.")

    class Meta(OrderLineOut.Meta):
        fields = [*OrderLineOut.Meta.fields, "returnable_quantity", "verdict"]


class ReturnableOrderOut(OrderListOut):
    lines = ReturnableLineOut(many=True, source="returnable_lines")

    class Meta(OrderListOut.Meta):
        fields = [*OrderListOut.Meta.fields, "client_reference", "lines"]
