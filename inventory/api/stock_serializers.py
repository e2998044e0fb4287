"""Input and output shapes of the stock API (`inventory.api.stock`)."""

from __future__ import annotations

from rest_framework import serializers

from inventory.models import (
    Location,
    Reservation,
    Sku,
    StockDiscrepancy,
    StockLevel,
    StockMovement,
)
from inventory.services.reservations import MAX_TTL


def location_field(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code", queryset=Location.objects.filter(is_active=True), **kwargs
    )


def sku_field(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code", queryset=Sku.objects.filter(is_active=True), **kwargs
    )


# --- Output ------------------------------------------------------------------------------


class ErrorBodyOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorOut(serializers.Serializer):
    """The one error shape; a stock refusal lists availability per line in
    `details.lines`."""

    error = ErrorBodyOut()


class StockLevelOut(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)
    sku = serializers.SlugRelatedField(slug_field="code", read_only=True)
    available = serializers.IntegerField(read_only=True)
    low_stock = serializers.SerializerMethodField()

    class Meta:
        model = StockLevel
        fields = [
            "id",
            "location",
            "sku",
            "on_hand",
            "reserved",
            "safety_stock",
            "available",
            "reorder_point",
            "low_stock",
            "damaged",
            "updated_at",
        ]

    def get_low_stock(self, level: StockLevel) -> bool:
        return level.available <= level.reorder_point


class StockMovementOut(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)
    sku = serializers.SlugRelatedField(slug_field="code", read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "location",
            "sku",
            "kind",
            "delta",
            "reserved_delta",
            "balance_after",
            "reason",
            "reference_type",
            "reference_id",
            "actor",
            "created_at",
        ]

    def get_actor(self, movement: StockMovement) -> str:
        if movement.actor_user_id:
            return f"user:{movement.actor_user_id}"
        if movement.actor_token_id:
            return f"token:{movement.actor_token_id}"
        return "system"


class StockChangeOut(serializers.Serializer):
    movement = StockMovementOut()
    stock_level = StockLevelOut()


class ReservationOut(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)
    sku = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Reservation
        fields = [
            "id",
            "owner_type",
            "owner_ref",
            "basket",
            "location",
            "sku",
            "quantity",
            "status",
            "expires_at",
            "needs_resourcing",
            "created_at",
            "closed_at",
        ]


class BasketOut(serializers.Serializer):
    basket = serializers.UUIDField()
    reservations = ReservationOut(many=True)


class StockDiscrepancyOut(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)
    sku = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = StockDiscrepancy
        fields = [
            "id",
            "location",
            "sku",
            "kind",
            "status",
            "recorded_on_hand",
            "quantity",
            "shortfall",
            "reference_type",
            "reference_id",
            "note",
            "created_at",
            "resolved_at",
        ]


class PosSaleOut(serializers.Serializer):
    location = serializers.CharField()
    reference = serializers.CharField()
    replayed = serializers.BooleanField()
    movements = StockMovementOut(many=True)
    discrepancies = StockDiscrepancyOut(many=True)
    flagged_reservations = ReservationOut(many=True)


# --- Input -------------------------------------------------------------------------------


class PlaceIn(serializers.Serializer):
    location = location_field(help_text="Location code.")
    sku = sku_field(help_text="SKU code.")


class ReceiptIn(PlaceIn):
    quantity = serializers.IntegerField(min_value=1)
    reference = serializers.CharField(max_length=64, required=False, default="")
    reason = serializers.CharField(max_length=200, required=False, default="")


class AdjustmentIn(PlaceIn):
    delta = serializers.IntegerField(help_text="Change to on hand; not zero.")
    reason = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=64, required=False, default="")

    def validate_delta(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("An adjustment changes on hand; 0 changes nothing.")
        return value


class CountIn(PlaceIn):
    counted = serializers.IntegerField(min_value=0, help_text="Units found on the shelf.")
    expected = serializers.IntegerField(
        min_value=0, help_text="On hand as read when the count started."
    )
    reason = serializers.CharField(max_length=200, required=False, default="")
    reference = serializers.CharField(max_length=64, required=False, default="")


class DamageIn(PlaceIn):
    quantity = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=64, required=False, default="")


class ReturnRestockIn(PlaceIn):
    quantity = serializers.IntegerField(min_value=1)
    return_reference = serializers.CharField(max_length=64)


class StockPolicyIn(PlaceIn):
    safety_stock = serializers.IntegerField(min_value=0, required=False)
    reorder_point = serializers.IntegerField(min_value=0, required=False)

    def validate(self, attrs: dict) -> dict:
        if "safety_stock" not in attrs and "reorder_point" not in attrs:
            raise serializers.ValidationError("Give safety_stock, reorder_point or both.")
        return attrs


class _OwnerIn(serializers.Serializer):
    owner_type = serializers.ChoiceField(choices=Reservation.OwnerType.choices)
    owner_ref = serializers.CharField(max_length=64)
    ttl_seconds = serializers.IntegerField(
        min_value=1,
        max_value=int(MAX_TTL.total_seconds()),
        required=False,
        help_text="How long to hold the units (default 15 minutes).",
    )


class ReservationIn(_OwnerIn, PlaceIn):
    quantity = serializers.IntegerField(min_value=1)


class BasketLineIn(PlaceIn):
    quantity = serializers.IntegerField(min_value=1)


class BasketIn(_OwnerIn):
    lines = BasketLineIn(many=True, allow_empty=False, max_length=100)


class CommitIn(serializers.Serializer):
    reference_type = serializers.CharField(max_length=32, required=False, default="order")
    reference_id = serializers.CharField(max_length=64, required=False, default="")


class ReleaseIn(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="")


class PosSaleLineIn(serializers.Serializer):
    # A sale that happened is recorded even if the SKU was since deactivated.
    sku = serializers.SlugRelatedField(
        slug_field="code", queryset=Sku.objects.all(), help_text="SKU code."
    )
    quantity = serializers.IntegerField(min_value=1)


class PosSaleIn(serializers.Serializer):
    location = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Location.objects.all(),
        help_text="The store where the sale happened.",
    )
    reference = serializers.CharField(max_length=64, help_text="The register's sale id.")
    sold_at = serializers.DateTimeField(required=False)
    lines = PosSaleLineIn(many=True, allow_empty=False, max_length=200)


class ResolveDiscrepancyIn(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="What the store found.")
