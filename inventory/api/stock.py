"""Stock API: levels, the ledger, stock writes, reservations, POS sales, discrepancies.

Availability is public to staff, so every caller with `stock:read` sees every stock level;
movements, discrepancies and reservations of other stores do not exist (404) for
store-scoped staff and tokens, and writes must name one of the caller's locations.
"""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.db.models import F
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from inventory.api import stock_serializers as s
from inventory.models import (
    Location,
    Reservation,
    StockDiscrepancy,
    StockLevel,
    StockMovement,
)
from inventory.services import pos, reservations, stock
from inventory.services.ledger import Actor
from omni.auth import can_use_location, scope_to_locations
from omni.errors import DomainError
from omni.idempotency import idempotent


class LocationNotAllowed(DomainError):
    code = "location_not_allowed"
    status_code = status.HTTP_403_FORBIDDEN
    message = "You may only change stock at your own locations."


def _check_location(request, location: Location) -> None:
    if not can_use_location(request.user, location.pk):
        raise LocationNotAllowed(location=location.code)


def _errors(*codes: int) -> dict:
    described = {
        400: "Invalid input (`invalid_input`, `invalid_quantity`, `reason_required`, "
        "`idempotency_key_required`).",
        403: "Missing scope, or a location outside the caller's (`location_not_allowed`).",
        404: "Not found, or at a location outside the caller's.",
        409: "Refused for lack of stock (`insufficient_stock`, availability per line in "
        "`details.lines`), a stale count (`stale_count`), or a closed reservation.",
        422: "A rule refused it, or the `Idempotency-Key` was used with another body.",
    }
    return {code: OpenApiResponse(s.ErrorOut, description=described[code]) for code in codes}


# --- Reads -------------------------------------------------------------------------------


class StockLevelFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code")
    sku = django_filters.CharFilter(field_name="sku__code")
    product = django_filters.NumberFilter(field_name="sku__product_id")
    low_stock = django_filters.BooleanFilter(
        method="filter_low_stock", label="Available at or below the reorder point"
    )

    class Meta:
        model = StockLevel
        fields = ["location", "sku", "product", "low_stock"]

    def filter_low_stock(self, queryset, name, value):
        low = F("on_hand") - F("reserved") - F("safety_stock")
        queryset = queryset.alias(free=low)
        if value:
            return queryset.filter(free__lte=F("reorder_point"))
        return queryset.filter(free__gt=F("reorder_point"))


class StockLevelViewSet(viewsets.ReadOnlyModelViewSet):
    """Stock per (location, SKU): on hand, reserved, safety stock, available."""

    scope = "stock"
    serializer_class = s.StockLevelOut
    filterset_class = StockLevelFilter
    ordering_fields = ["on_hand", "reserved", "updated_at"]
    queryset = StockLevel.objects.select_related("location", "sku").order_by("pk")


class StockMovementFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code")
    sku = django_filters.CharFilter(field_name="sku__code")
    kind = django_filters.ChoiceFilter(choices=StockMovement.Kind.choices)
    reference_type = django_filters.CharFilter()
    reference_id = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockMovement
        fields = ["location", "sku", "kind", "reference_type", "reference_id"]


class StockMovementViewSet(viewsets.ReadOnlyModelViewSet):
    """The append-only ledger; store-scoped callers see their own stores' rows only."""

    scope = "stock"
    serializer_class = s.StockMovementOut
    filterset_class = StockMovementFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        queryset = StockMovement.objects.select_related("location", "sku")
        return scope_to_locations(queryset, self.request.user)


class StockDiscrepancyFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code")
    sku = django_filters.CharFilter(field_name="sku__code")
    status = django_filters.ChoiceFilter(choices=StockDiscrepancy.Status.choices)
    kind = django_filters.ChoiceFilter(choices=StockDiscrepancy.Kind.choices)

    class Meta:
        model = StockDiscrepancy
        fields = ["location", "sku", "status", "kind"]


class StockDiscrepancyViewSet(viewsets.ReadOnlyModelViewSet):
    """Where recorded stock and reality disagreed, for the store to investigate."""

    scope = "stock"
    serializer_class = s.StockDiscrepancyOut
    filterset_class = StockDiscrepancyFilter

    def get_queryset(self):
        queryset = StockDiscrepancy.objects.select_related("location", "sku")
        return scope_to_locations(queryset, self.request.user)

    @extend_schema(
        summary="Resolve a discrepancy with what was found",
        request=s.ResolveDiscrepancyIn,
        responses={200: s.StockDiscrepancyOut, **_errors(400, 403, 404, 409, 422)},
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def resolve(self, request, pk=None):
        serializer = s.ResolveDiscrepancyIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        discrepancy = pos.resolve_discrepancy(
            discrepancy=self.get_object(), note=serializer.validated_data["note"]
        )
        return Response(s.StockDiscrepancyOut(discrepancy).data)


# --- Stock writes ------------------------------------------------------------------------


class _StockWriteView(APIView):
    """Validate, check the location is the caller's, call one service, render the change."""

    scope = "stock"
    input_serializer: type = s.PlaceIn

    def perform(self, data: dict, actor: Actor):
        raise NotImplementedError

    @idempotent(required=True)
    def post(self, request):
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _check_location(request, data["location"])
        movement = self.perform(data, Actor.of(request.user))
        level = StockLevel.objects.select_related("location", "sku").get(
            location=data["location"], sku=data["sku"]
        )
        body = s.StockChangeOut({"movement": movement, "stock_level": level}).data
        return Response(body, status=status.HTTP_201_CREATED)


def _write_schema(serializer, summary: str):
    return extend_schema_view(
        post=extend_schema(
            summary=summary,
            request=serializer,
            responses={201: s.StockChangeOut, **_errors(400, 403, 409, 422)},
        )
    )


@_write_schema(s.ReceiptIn, "Receive goods into stock")
class ReceiptView(_StockWriteView):
    input_serializer = s.ReceiptIn

    def perform(self, data, actor):
        return stock.receive_stock(
            location=data["location"],
            sku=data["sku"],
            quantity=data["quantity"],
            reference_id=data["reference"],
            reason=data["reason"],
            actor=actor,
        )


@_write_schema(s.AdjustmentIn, "Adjust on hand, with a reason")
class AdjustmentView(_StockWriteView):
    input_serializer = s.AdjustmentIn

    def perform(self, data, actor):
        return stock.adjust_stock(
            location=data["location"],
            sku=data["sku"],
            delta=data["delta"],
            reason=data["reason"],
            reference_id=data["reference"],
            actor=actor,
        )


@_write_schema(s.CountIn, "Record a cycle count (409 stale_count if on hand moved)")
class CountView(_StockWriteView):
    input_serializer = s.CountIn

    def perform(self, data, actor):
        return stock.count_stock(
            location=data["location"],
            sku=data["sku"],
            counted=data["counted"],
            expected=data["expected"],
            reason=data["reason"],
            reference_id=data["reference"],
            actor=actor,
        )


@_write_schema(s.DamageIn, "Move units from on hand to damaged")
class DamageView(_StockWriteView):
    input_serializer = s.DamageIn

    def perform(self, data, actor):
        return stock.mark_damaged(
            location=data["location"],
            sku=data["sku"],
            quantity=data["quantity"],
            reason=data["reason"],
            reference_id=data["reference"],
            actor=actor,
        )


@_write_schema(s.ReturnRestockIn, "Put returned units back on hand where they were received")
class ReturnRestockView(_StockWriteView):
    input_serializer = s.ReturnRestockIn

    def perform(self, data, actor):
        return stock.restock_return(
            location=data["location"],
            sku=data["sku"],
            quantity=data["quantity"],
            return_reference=data["return_reference"],
            actor=actor,
        )


class StockPolicyView(APIView):
    scope = "stock"

    @extend_schema(
        summary="Set safety stock and reorder point",
        request=s.StockPolicyIn,
        responses={200: s.StockLevelOut, **_errors(400, 403, 422)},
    )
    @idempotent(required=True)
    def post(self, request):
        serializer = s.StockPolicyIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _check_location(request, data["location"])
        level = stock.set_stock_policy(
            location=data["location"],
            sku=data["sku"],
            safety_stock=data.get("safety_stock"),
            reorder_point=data.get("reorder_point"),
        )
        return Response(s.StockLevelOut(level).data)


# --- Reservations ------------------------------------------------------------------------


class ReservationFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code")
    sku = django_filters.CharFilter(field_name="sku__code")
    status = django_filters.ChoiceFilter(choices=Reservation.Status.choices)
    owner_type = django_filters.ChoiceFilter(choices=Reservation.OwnerType.choices)
    owner_ref = django_filters.CharFilter()
    basket = django_filters.UUIDFilter()
    needs_resourcing = django_filters.BooleanFilter()

    class Meta:
        model = Reservation
        fields = ["location", "sku", "status", "owner_type", "owner_ref", "basket"]


def _ttl(data: dict) -> timedelta | None:
    seconds = data.get("ttl_seconds")
    return timedelta(seconds=seconds) if seconds else None


@extend_schema_view(
    list=extend_schema(summary="List reservations"),
    retrieve=extend_schema(summary="One reservation"),
)
class ReservationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Units held for carts, orders and pickups. Reading needs `stock:read`; reserving,
    releasing and committing need `orders:write` (the carts and orders that own them)."""

    scope = "stock"
    required_scopes = {"POST": "orders:write"}
    serializer_class = s.ReservationOut
    filterset_class = ReservationFilter

    def get_queryset(self):
        queryset = Reservation.objects.select_related("location", "sku")
        return scope_to_locations(queryset, self.request.user)

    @extend_schema(
        summary="Reserve units of one SKU at one location",
        request=s.ReservationIn,
        responses={201: s.ReservationOut, **_errors(400, 403, 409, 422)},
    )
    @idempotent(required=True)
    def create(self, request):
        serializer = s.ReservationIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _check_location(request, data["location"])
        reservation = reservations.reserve_stock(
            location=data["location"],
            sku=data["sku"],
            quantity=data["quantity"],
            owner_type=data["owner_type"],
            owner_ref=data["owner_ref"],
            ttl=_ttl(data),
            actor=Actor.of(request.user),
        )
        return Response(s.ReservationOut(reservation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Reserve a basket of lines, all or nothing",
        request=s.BasketIn,
        responses={201: s.BasketOut, **_errors(400, 403, 409, 422)},
    )
    @action(detail=False, methods=["post"], url_path="baskets")
    @idempotent(required=True)
    def basket(self, request):
        serializer = s.BasketIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        for line in data["lines"]:
            _check_location(request, line["location"])
        made = reservations.reserve_basket(
            lines=[
                reservations.BasketLine(line["location"], line["sku"], line["quantity"])
                for line in data["lines"]
            ],
            owner_type=data["owner_type"],
            owner_ref=data["owner_ref"],
            ttl=_ttl(data),
            actor=Actor.of(request.user),
        )
        body = s.BasketOut({"basket": made[0].basket, "reservations": made}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Release a reservation",
        request=s.ReleaseIn,
        responses={200: s.ReservationOut, **_errors(400, 403, 404, 409, 422)},
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def release(self, request, pk=None):
        serializer = s.ReleaseIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservation = reservations.release_reservation(
            reservation=self.get_object(),
            reason=serializer.validated_data["reason"],
            actor=Actor.of(request.user),
        )
        return Response(s.ReservationOut(reservation).data)

    @extend_schema(
        summary="Commit a reservation into a sale",
        request=s.CommitIn,
        responses={200: s.ReservationOut, **_errors(400, 403, 404, 409, 422)},
    )
    @action(detail=True, methods=["post"])
    @idempotent(required=True)
    def commit(self, request, pk=None):
        serializer = s.CommitIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservation = reservations.commit_reservation(
            reservation=self.get_object(),
            reference_type=serializer.validated_data["reference_type"],
            reference_id=serializer.validated_data["reference_id"],
            actor=Actor.of(request.user),
        )
        return Response(s.ReservationOut(reservation).data)


# --- POS sales ---------------------------------------------------------------------------


class PosSaleView(APIView):
    """A sale already made at the counter: always recorded, never refused for stock."""

    required_scopes = {"POST": "sales:write"}

    @extend_schema(
        summary="Record the stock side of a POS sale",
        request=s.PosSaleIn,
        responses={201: s.PosSaleOut, 200: s.PosSaleOut, **_errors(400, 403, 409, 422)},
    )
    @idempotent(required=True)
    def post(self, request):
        serializer = s.PosSaleIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _check_location(request, data["location"])
        result = pos.record_pos_sale(
            location=data["location"],
            reference=data["reference"],
            lines=[pos.SaleLine(line["sku"], line["quantity"]) for line in data["lines"]],
            sold_at=data.get("sold_at"),
            actor=Actor.of(request.user),
        )
        body = s.PosSaleOut(
            {
                "location": result.sale.location.code,
                "reference": result.sale.reference,
                "replayed": result.replayed,
                "movements": result.movements,
                "discrepancies": result.discrepancies,
                "flagged_reservations": result.flagged_reservations,
            }
        ).data
        return Response(body, status=status.HTTP_200_OK if result.replayed else 201)


router = SimpleRouter()
router.register("stock-levels", StockLevelViewSet, basename="stock-level")
router.register("stock-movements", StockMovementViewSet, basename="stock-movement")
router.register("stock-discrepancies", StockDiscrepancyViewSet, basename="stock-discrepancy")
router.register("reservations", ReservationViewSet, basename="reservation")

stock_urlpatterns = [
    *router.urls,
    path("stock/receipts/", ReceiptView.as_view(), name="stock-receipt"),
    path("stock/adjustments/", AdjustmentView.as_view(), name="stock-adjustment"),
    path("stock/counts/", CountView.as_view(), name="stock-count"),
    path("stock/damage/", DamageView.as_view(), name="stock-damage"),
    path("stock/return-restocks/", ReturnRestockView.as_view(), name="stock-return-restock"),
    path("stock/policies/", StockPolicyView.as_view(), name="stock-policy"),
    path("pos-sales/", PosSaleView.as_view(), name="pos-sale"),
]
