"""Availability (single, bulk, nearby), sourcing plans and replenishment reports.

Everyone with `stock:read` may see the availability of every store: a clerk in Lisbon
tells a customer that Porto has her size.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import selectors
from inventory.api.transfers import TransferSerializer
from inventory.models import Location, Sku, Transfer
from inventory.selectors import Channel
from inventory.services import sourcing, transfers
from inventory.services.ledger import Actor
from omni.auth import visible_location_ids
from omni.errors import BadRequest, NotFound
from omni.idempotency import idempotent
from omni.replica import replica_reads

BULK_LIMIT = 500


class UnknownLocation(BadRequest):
    code = "unknown_location"
    message = "No location has this code."


# --- output --------------------------------------------------------------------------------


class PlaceStockOut(serializers.Serializer):
    location = serializers.CharField(source="location.code")
    name = serializers.CharField(source="location.name")
    kind = serializers.CharField(source="location.kind")
    city = serializers.CharField(source="location.city")
    available = serializers.IntegerField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    status = serializers.CharField()
    low_stock = serializers.BooleanField()
    distance_km = serializers.FloatField(allow_null=True)


class InTransitOut(serializers.Serializer):
    transfer = serializers.IntegerField(source="transfer_id")
    source = serializers.CharField(source="source.code")
    destination = serializers.CharField(source="destination.code")
    quantity = serializers.IntegerField()
    expected_arrival = serializers.DateField(allow_null=True)


class SkuAvailabilityOut(serializers.Serializer):
    sku = serializers.CharField(source="sku.code")
    barcode = serializers.CharField(source="sku.barcode", allow_null=True)
    name = serializers.SerializerMethodField()
    price = serializers.DecimalField(source="sku.price", max_digits=12, decimal_places=2)
    currency = serializers.CharField(source="sku.currency")
    available = serializers.IntegerField()
    status = serializers.CharField(help_text="in_stock, low_stock or out_of_stock")
    low_stock = serializers.BooleanField(help_text="1..threshold units left")
    in_transit_quantity = serializers.IntegerField()
    locations = PlaceStockOut(source="places", many=True)
    in_transit = InTransitOut(many=True)

    def get_name(self, entry) -> str:
        return entry.sku.name or entry.sku.product.name


class BulkAvailabilityOut(serializers.Serializer):
    results = SkuAvailabilityOut(many=True)
    unknown = serializers.ListField(child=serializers.CharField())


# --- input ---------------------------------------------------------------------------------


class AvailabilityQuery(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.CHOICES, default=Channel.ALL)
    location = serializers.CharField(required=False, help_text="one location's code")
    latitude = serializers.FloatField(required=False, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, min_value=-180, max_value=180)
    near = serializers.CharField(
        required=False, help_text="order by distance from this location's code"
    )
    in_stock_only = serializers.BooleanField(required=False, default=False)
    threshold = serializers.IntegerField(
        required=False, min_value=0, max_value=100, default=selectors.LOW_STOCK_THRESHOLD
    )

    def validate(self, attrs):
        if ("latitude" in attrs) != ("longitude" in attrs):
            raise serializers.ValidationError("Give both latitude and longitude, or neither.")
        if attrs["channel"] == Channel.STORE and "location" not in attrs:
            raise serializers.ValidationError({"location": "The store channel needs a location."})
        return attrs


class BulkAvailabilityIn(AvailabilityQuery):
    skus = serializers.ListField(
        child=serializers.CharField(max_length=64),
        allow_empty=False,
        max_length=BULK_LIMIT,
        help_text=f"SKU codes or barcodes, up to {BULK_LIMIT}",
    )


class BulkAvailabilityQuery(AvailabilityQuery):
    skus = serializers.CharField(help_text="comma-separated SKU codes or barcodes")

    def validate_skus(self, value: str) -> list[str]:
        codes = [code.strip() for code in value.split(",") if code.strip()]
        if not codes:
            raise serializers.ValidationError("Give at least one SKU code.")
        if len(codes) > BULK_LIMIT:
            raise serializers.ValidationError(f"At most {BULK_LIMIT} SKUs per request.")
        return codes


def _location(code: str | None) -> Location | None:
    if not code:
        return None
    location = selectors.location_by_code(code)
    if location is None:
        raise UnknownLocation(location=code)
    return location


def _lookup(options: dict, skus: list[Sku]):
    location = _location(options.get("location"))
    point = selectors.reference_point(
        location=_location(options.get("near")),
        latitude=options.get("latitude"),
        longitude=options.get("longitude"),
    )
    return selectors.availability(
        skus,
        channel=options["channel"],
        location=location,
        near=point,
        in_stock_only=options["in_stock_only"],
        threshold=options["threshold"],
    )


def _bulk(options: dict) -> dict:
    found = selectors.skus_by_code(options["skus"])
    skus = list(dict.fromkeys(found.values()))
    return {
        "results": _lookup(options, skus),
        "unknown": [code for code in options["skus"] if code not in found],
    }


def _sku(code: str) -> Sku:
    sku = selectors.skus_by_code([code]).get(code)
    if sku is None:
        raise NotFound("No SKU has this code or barcode.", sku=code)
    return sku


class SkuAvailabilityView(APIView):
    """One SKU at every location of a channel, with stock in transit and the low-stock flag."""

    scope = "stock"

    @extend_schema(parameters=[AvailabilityQuery], responses=SkuAvailabilityOut)
    def get(self, request, code: str):
        query = AvailabilityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        [entry] = _lookup(query.validated_data, [_sku(code)])
        return Response(SkuAvailabilityOut(entry).data)


class NearbyQuery(AvailabilityQuery):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if "latitude" not in attrs and "near" not in attrs:
            raise serializers.ValidationError("Give latitude and longitude, or near=<location>.")
        return attrs


class NearbyAvailabilityView(APIView):
    """Where one SKU is in stock, nearest first, with the distance in km."""

    scope = "stock"

    @extend_schema(parameters=[NearbyQuery], responses=SkuAvailabilityOut)
    def get(self, request, code: str):
        query = NearbyQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = {**query.validated_data, "in_stock_only": True}
        [entry] = _lookup(options, [_sku(code)])
        entry.places = entry.places[: options["limit"]]
        return Response(SkuAvailabilityOut(entry).data)


class BulkAvailabilityView(APIView):
    """Many SKUs at once (a category page, a POS basket) in a constant number of queries."""

    scope = "stock"

    @extend_schema(
        operation_id="availability_bulk_get",
        parameters=[BulkAvailabilityQuery],
        responses=BulkAvailabilityOut,
    )
    def get(self, request):
        query = BulkAvailabilityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(BulkAvailabilityOut(_bulk(query.validated_data)).data)


class BulkAvailabilityPostView(APIView):
    """Up to 500 SKUs in a body; the same answer as the GET form."""

    scope = "stock"
    # Reading with POST (a body of up to 500 codes) needs only read access.
    required_scopes = {"POST": "stock:read"}

    @extend_schema(
        operation_id="availability_bulk", request=BulkAvailabilityIn, responses=BulkAvailabilityOut
    )
    def post(self, request):
        data = BulkAvailabilityIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(BulkAvailabilityOut(_bulk(data.validated_data)).data)


# --- sourcing ------------------------------------------------------------------------------


class OrderLineIn(serializers.Serializer):
    sku = serializers.SlugRelatedField(slug_field="code", queryset=Sku.objects.all())
    quantity = serializers.IntegerField(min_value=1)


class PointIn(serializers.Serializer):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)


class SourcingIn(serializers.Serializer):
    method = serializers.ChoiceField(choices=sourcing.DeliveryMethod.CHOICES)
    lines = OrderLineIn(many=True, allow_empty=False)
    pickup_location = serializers.SlugRelatedField(
        slug_field="code", queryset=Location.objects.all(), required=False
    )
    ship_from = serializers.SlugRelatedField(
        slug_field="code", queryset=Location.objects.all(), required=False
    )
    ship_to = PointIn(required=False)


class LegLineOut(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class LegOut(serializers.Serializer):
    location = serializers.CharField(source="location.code")
    distance_km = serializers.FloatField(allow_null=True)
    lines = serializers.SerializerMethodField()

    def get_lines(self, leg) -> list[dict]:
        return LegLineOut(
            [{"sku": sku.code, "quantity": quantity} for sku, quantity in leg.lines], many=True
        ).data


class SourcingPlanOut(serializers.Serializer):
    method = serializers.CharField()
    pickup_location = serializers.CharField(source="pickup_location.code", allow_null=True)
    pick_at_pickup = serializers.SerializerMethodField()
    shipments = LegOut(many=True)
    transfers = LegOut(many=True)
    reasons = serializers.ListField(child=serializers.CharField())

    def get_pick_at_pickup(self, plan) -> list[dict]:
        return LegLineOut(
            [{"sku": sku.code, "quantity": quantity} for sku, quantity in plan.pick_at_pickup],
            many=True,
        ).data


class SourcingPlanView(APIView):
    """Where an order's units would come from, and why. Reads only; reserves nothing."""

    scope = "stock"
    required_scopes = {"POST": "stock:read"}

    @extend_schema(request=SourcingIn, responses=SourcingPlanOut)
    def post(self, request):
        data = SourcingIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        ship_to = values.get("ship_to")
        plan = sourcing.plan_sourcing(
            lines=[
                sourcing.OrderLine(sku=line["sku"], quantity=line["quantity"])
                for line in values["lines"]
            ],
            method=values["method"],
            pickup_location=values.get("pickup_location"),
            ship_from=values.get("ship_from"),
            ship_to=(ship_to["latitude"], ship_to["longitude"]) if ship_to else None,
        )
        return Response(SourcingPlanOut(plan).data)


# --- replenishment -------------------------------------------------------------------------


class LowStockOut(serializers.Serializer):
    location = serializers.CharField(source="location.code")
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.product.name")
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    safety_stock = serializers.IntegerField()
    available = serializers.IntegerField(source="available_now")
    reorder_point = serializers.IntegerField()


class LocationQuery(serializers.Serializer):
    location = serializers.CharField(required=False)


def _location_ids(request) -> list[int] | None:
    # A plain dict, so `?location=` is refused as blank instead of read as left out.
    query = LocationQuery(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    location = _location(query.validated_data.get("location"))
    return None if location is None else [location.pk]


class LowStockView(generics.ListAPIView):
    """Stock levels whose available quantity is below their reorder point."""

    scope = "stock"
    serializer_class = LowStockOut
    filter_backends: list = []

    @extend_schema(parameters=[LocationQuery])
    def get(self, request, *args, **kwargs):
        # A report: read from the replica when one is configured.
        with replica_reads():
            return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.low_stock_levels(location_ids=_location_ids(self.request))


class SuggestionOut(serializers.Serializer):
    source = serializers.CharField(source="source.code")
    destination = serializers.CharField(source="destination.code")
    sku = serializers.CharField(source="sku.code")
    quantity = serializers.IntegerField()
    available = serializers.IntegerField()
    reorder_point = serializers.IntegerField()
    in_transit = serializers.IntegerField()
    reason = serializers.CharField()


class ReplenishmentView(APIView):
    """Suggested transfers from warehouses to stores below their reorder point."""

    scope = "stock"

    @extend_schema(parameters=[LocationQuery], responses=SuggestionOut(many=True))
    def get(self, request):
        with replica_reads():
            suggestions = selectors.replenishment_suggestions(location_ids=_location_ids(request))
            return Response(SuggestionOut(suggestions, many=True).data)


class ReplenishmentTransfersIn(serializers.Serializer):
    location = serializers.CharField(required=False, help_text="only this store's needs")


class ReplenishmentTransfersView(APIView):
    """Request the suggested transfers (one per warehouse and store); nothing ships yet."""

    scope = "stock"

    @extend_schema(request=ReplenishmentTransfersIn, responses={201: TransferSerializer(many=True)})
    @idempotent()
    def post(self, request):
        data = ReplenishmentTransfersIn(data=request.data)
        data.is_valid(raise_exception=True)
        location = _location(data.validated_data.get("location"))
        ids = visible_location_ids(request.user)
        if location is not None:
            if ids is not None and location.pk not in ids:
                raise NotFound("No such location.")
            ids = [location.pk]
        created = transfers.create_replenishment_transfers(
            suggestions=selectors.replenishment_suggestions(location_ids=ids),
            actor=Actor.of(request.user),
        )
        created = (
            Transfer.objects.filter(pk__in=[transfer.pk for transfer in created])
            .select_related("source", "destination")
            .prefetch_related("lines__sku")
            .order_by("pk")
        )
        return Response(TransferSerializer(created, many=True).data, status=201)


availability_urlpatterns = [
    path("availability/", BulkAvailabilityView.as_view(), name="availability-bulk"),
    path("availability/bulk/", BulkAvailabilityPostView.as_view(), name="availability-bulk-post"),
    path(
        "availability/<str:code>/nearby/",
        NearbyAvailabilityView.as_view(),
        name="availability-nearby",
    ),
    path("availability/<str:code>/", SkuAvailabilityView.as_view(), name="availability-sku"),
    path("sourcing/plan/", SourcingPlanView.as_view(), name="sourcing-plan"),
    path("replenishment/low-stock/", LowStockView.as_view(), name="replenishment-low-stock"),
    path(
        "replenishment/suggestions/",
        ReplenishmentView.as_view(),
        name="replenishment-suggestions",
    ),
    path(
        "replenishment/transfers/",
        ReplenishmentTransfersView.as_view(),
        name="replenishment-transfers",
    ),
]
