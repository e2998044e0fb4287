"""Input serializers check the shape of a request; output serializers render. The rules
live in `orders.services`. Money is a decimal string beside its currency code."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.models import Location
from omni.api.serializers import ModelSerializer, Serializer
from orders.models import (
    Cart,
    CartLine,
    CreditAccount,
    CreditEntry,
    Fulfilment,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    SalesChannel,
)


def money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


@extend_schema_field(OpenApiTypes.STR)
class CodeChoiceField(serializers.ChoiceField):
    """A choice rendered as a plain string in the schema (its values are in the field's
    description). Several apps have their own `channel` or `method` sets; inline strings
    keep their enum names from colliding."""

    def __init__(self, choices, **kwargs):
        values = [value for value, _ in choices]
        kwargs.setdefault("help_text", "One of: " + ", ".join(f"`{v}`" for v in values) + ".")
        super().__init__(choices=choices, **kwargs)


class LocationCodeField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(
            slug_field="code", queryset=Location.objects.filter(is_active=True), **kwargs
        )


# --- Carts -------------------------------------------------------------------------------


class CartOpenIn(Serializer):
    customer = serializers.UUIDField(
        required=False, allow_null=True, help_text="The customer's public id."
    )
    device_id = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default="", help_text="Anonymous."
    )
    channel = CodeChoiceField(SalesChannel.choices, default=SalesChannel.WEB)
    currency = serializers.CharField(min_length=3, max_length=3, default="EUR")

    def validate(self, attrs):
        if not attrs.get("customer") and not attrs.get("device_id"):
            raise serializers.ValidationError("Give the customer's public id or a device id.")
        return attrs


class CartLineIn(Serializer):
    sku = serializers.CharField(max_length=64, help_text="SKU code.")
    quantity = serializers.IntegerField(
        min_value=0, max_value=99, help_text="The new quantity; 0 removes the line."
    )
    channel = CodeChoiceField(SalesChannel.choices, required=False)
    hold_at = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Location.objects.filter(is_active=True),
        required=False,
        help_text="Hold the units at this location for 15 minutes (409 if not available).",
    )


class CartMergeIn(Serializer):
    device_id = serializers.CharField(max_length=128)
    customer = serializers.UUIDField(help_text="The customer who just signed in.")
    channel = CodeChoiceField(SalesChannel.choices, default=SalesChannel.APP)


# Money computed in a method is rendered as a decimal string, like every DecimalField.
MONEY_STRING = serializers.DecimalField(max_digits=12, decimal_places=2)


class CartLineOut(ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    unit_price = money()
    line_total = serializers.SerializerMethodField()

    class Meta:
        model = CartLine
        fields = ["sku", "name", "quantity", "unit_price", "currency", "line_total", "added_at"]

    @extend_schema_field(MONEY_STRING)
    def get_line_total(self, line: CartLine) -> str:
        return f"{line.unit_price * line.quantity:.2f}"


class CartOut(ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    customer = serializers.UUIDField(source="customer.public_id", allow_null=True, default=None)
    channel = serializers.CharField()
    cart_status = serializers.CharField(
        source="status", help_text="open, converted, merged or emptied."
    )
    lines = CartLineOut(many=True)
    subtotal = serializers.SerializerMethodField()

    class Meta:
        model = Cart
        fields = [
            "id",
            "customer",
            "device_id",
            "channel",
            "cart_status",
            "currency",
            "lines",
            "subtotal",
            "last_activity_at",
            "created_at",
        ]

    @extend_schema_field(MONEY_STRING)
    def get_subtotal(self, cart: Cart) -> str:
        return f"{sum(line.unit_price * line.quantity for line in cart.lines.all()):.2f}"


# --- Checkout ----------------------------------------------------------------------------


class DeliveryIn(Serializer):
    method = CodeChoiceField(
        [
            (Fulfilment.Method.SHIP, "Ship"),
            (Fulfilment.Method.CLICK_AND_COLLECT, "Click and collect"),
            (Fulfilment.Method.CURBSIDE, "Curbside"),
        ],
        help_text="`ship` (from the best warehouse or store), `click_and_collect` or "
        "`curbside` (both need `pickup_location`).",
    )
    pickup_location = LocationCodeField(required=False, allow_null=True, help_text="Store code.")


class CheckoutLineIn(Serializer):
    sku = serializers.CharField(max_length=64, help_text="SKU code.")
    quantity = serializers.IntegerField(min_value=1, max_value=999)
    delivery = DeliveryIn(
        required=False, help_text="This line's own delivery (an order may mix); else the order's."
    )


class PaymentIn(Serializer):
    method = CodeChoiceField(Payment.Method.choices)
    amount = money(min_value=Decimal("0.01"))
    external_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    captured = serializers.BooleanField(default=False)


class CheckoutIn(Serializer):
    channel = CodeChoiceField(SalesChannel.choices)
    customer = serializers.UUIDField(required=False, allow_null=True, help_text="Public id.")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    lines = CheckoutLineIn(many=True, allow_empty=False, max_length=200)
    delivery = DeliveryIn()
    discount_code = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    payments = PaymentIn(many=True, required=False, default=list)
    placing_location = LocationCodeField(
        required=False,
        allow_null=True,
        help_text="Store code, for an order placed in a store (endless aisle). A caller scoped "
        "to one store places it there by default.",
    )
    client_reference = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )
    campaign = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    currency = serializers.CharField(min_length=3, max_length=3, default="EUR")
    cart = serializers.SlugRelatedField(
        slug_field="public_id",
        queryset=Cart.objects.filter(status=Cart.Status.OPEN),
        required=False,
        help_text="The open cart being checked out: its holds end and it is converted.",
    )

    def validate(self, attrs):
        if not (attrs.get("customer") or attrs.get("email") or attrs.get("phone")):
            raise serializers.ValidationError(
                "An order needs a customer: their public id, or an email or phone."
            )
        return attrs


# --- Orders ------------------------------------------------------------------------------


class OrderLineOut(ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    unit_price = money()
    discount = money()
    tax = money()
    total = money()

    class Meta:
        model = OrderLine
        fields = ["id", "sku", "name", "quantity", "unit_price", "discount", "tax", "total"]


class FulfilmentOut(ModelSerializer):
    delivery_method = serializers.CharField(
        source="method",
        help_text="ship, ship_from_store, click_and_collect, curbside or in_store.",
    )
    location = serializers.CharField(source="location.code")
    location_name = serializers.CharField(source="location.name")
    fulfilment_status = serializers.CharField(
        source="status",
        help_text="placed, allocated, awaiting_transfer, picked, packed, shipped, delivered, "
        "ready_for_pickup, collected, expired or cancelled.",
    )
    lines = serializers.SerializerMethodField()
    transfer = serializers.IntegerField(source="transfer_id", allow_null=True)

    class Meta:
        model = Fulfilment
        fields = [
            "id",
            "delivery_method",
            "location",
            "location_name",
            "fulfilment_status",
            "lines",
            "ready_at",
            "pickup_deadline",
            "reminder_sent_at",
            "arrived_at",
            "arrival_note",
            "collected_at",
            "carrier",
            "tracking_number",
            "shipped_at",
            "delivered_at",
            "transfer",
            "sourcing_explanation",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_lines(self, fulfilment: Fulfilment) -> list[int]:
        return [line.pk for line in fulfilment.lines.all()]


class PaymentOut(ModelSerializer):
    payment_method = serializers.CharField(source="method")
    amount = money()

    class Meta:
        model = Payment
        fields = [
            "id",
            "payment_method",
            "amount",
            "currency",
            "external_reference",
            "captured",
            "created_at",
        ]


class OrderEventOut(ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = OrderEvent
        fields = ["kind", "fulfilment", "from_status", "to_status", "data", "actor", "created_at"]

    def get_actor(self, event: OrderEvent) -> str:
        if event.actor_user_id:
            return f"user:{event.actor_user.username}"
        if event.actor_token_id:
            return f"token:{event.actor_token.name}"
        return "system"


class NotificationOut(ModelSerializer):
    class Meta:
        model = Notification
        fields = ["template", "channel", "recipient", "created_at", "sent_at"]


class OrderListOut(ModelSerializer):
    customer = serializers.UUIDField(source="customer.public_id", allow_null=True, default=None)
    sales_channel = serializers.CharField(
        source="channel", help_text="web, app, store, phone, social or marketplace."
    )
    location = serializers.CharField(source="location.code", allow_null=True, default=None)
    order_status = serializers.CharField(
        source="status",
        help_text="placed, allocated, partially_fulfilled, fulfilled, cancelled or completed.",
    )
    subtotal = money()
    discount_total = money()
    tax_total = money()
    shipping_total = money()
    total = money()

    class Meta:
        model = Order
        fields = [
            "number",
            "public_id",
            "sales_channel",
            "location",
            "customer",
            "order_status",
            "currency",
            "subtotal",
            "discount_total",
            "tax_total",
            "shipping_total",
            "total",
            "placed_at",
        ]


class OrderOut(OrderListOut):
    discount_code = serializers.CharField(
        source="discount_code.code", allow_null=True, default=None
    )
    lines = OrderLineOut(many=True)
    fulfilments = FulfilmentOut(many=True)
    payments = PaymentOut(many=True)
    events = OrderEventOut(many=True)

    class Meta(OrderListOut.Meta):
        fields = [
            *OrderListOut.Meta.fields,
            "client_reference",
            "email",
            "phone",
            "discount_code",
            "campaign",
            "notes",
            "lines",
            "fulfilments",
            "payments",
            "events",
        ]


# --- Fulfilment steps --------------------------------------------------------------------


class NoInput(Serializer):
    """This step takes no body."""


class CollectIn(Serializer):
    code = serializers.CharField(max_length=12, help_text="The pickup code the customer shows.")


class CheckInIn(Serializer):
    note = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="Parking spot and car, e.g. 'bay 3, red Fiat 500'.",
    )


class ShipmentIn(Serializer):
    carrier = serializers.CharField(max_length=60)
    tracking_number = serializers.CharField(max_length=80)


class CancelIn(Serializer):
    reason = serializers.CharField(max_length=200)


# --- Discount codes and credit -----------------------------------------------------------


class DiscountQuoteIn(Serializer):
    code = serializers.CharField(max_length=40)
    lines = CheckoutLineIn(many=True, allow_empty=False, max_length=200)
    currency = serializers.CharField(min_length=3, max_length=3, default="EUR")
    customer = serializers.UUIDField(required=False, allow_null=True, help_text="Public id.")


class DiscountQuoteOut(Serializer):
    code = serializers.CharField()
    promotion = serializers.CharField()
    discount = money()
    eligible_subtotal = money()
    subtotal = money()
    currency = serializers.CharField()


class CreditEntryOut(ModelSerializer):
    entry_kind = serializers.CharField(source="kind")
    amount = money()
    balance_after = money()

    class Meta:
        model = CreditEntry
        fields = ["entry_kind", "amount", "balance_after", "reference", "reason", "created_at"]


class CreditBalanceOut(ModelSerializer):
    account_kind = serializers.CharField(source="kind", help_text="store_credit or gift_card.")
    customer = serializers.UUIDField(source="customer.public_id", allow_null=True, default=None)
    balance = money()
    recent_entries = serializers.SerializerMethodField()

    class Meta:
        model = CreditAccount
        fields = [
            "account_kind",
            "number",
            "customer",
            "currency",
            "balance",
            "expires_at",
            "recent_entries",
        ]

    @extend_schema_field(CreditEntryOut(many=True))
    def get_recent_entries(self, account: CreditAccount) -> list:
        return CreditEntryOut(account.entries.all()[:20], many=True).data


class StoreCreditOut(Serializer):
    customer = serializers.UUIDField()
    accounts = CreditBalanceOut(many=True)


class CreditSpendIn(Serializer):
    gift_card = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="", help_text="Card number."
    )
    customer = serializers.UUIDField(
        required=False, allow_null=True, help_text="Public id: spend their store credit."
    )
    amount = money(min_value=Decimal("0.01"))
    currency = serializers.CharField(min_length=3, max_length=3, default="EUR")
    reference = serializers.CharField(
        max_length=64, help_text="The order number or till transaction paid with it; once each."
    )

    def validate(self, attrs):
        if bool(attrs.get("gift_card")) == bool(attrs.get("customer")):
            raise serializers.ValidationError(
                "Give either a gift card number or a customer's public id."
            )
        return attrs


class CreditSpendOut(Serializer):
    entry = CreditEntryOut()
    account = CreditBalanceOut()
