"""Orders API: carts, checkout, orders, fulfilment steps, discount codes, store credit.

Views validate with an input serializer, call one service, render with an output
serializer. Store staff and location-scoped tokens see only orders placed at, or fulfilled
at, their locations; any other order does not exist for them (404).
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.services.identity import resolve_customer
from inventory.models import Location, Sku
from omni.api.serializers import render
from omni.auth import Actor, TokenUser, can_use_location, visible_location_ids
from omni.errors import DomainError
from omni.idempotency import idempotent
from orders.api import serializers as s
from orders.api.filters import OrderFilter
from orders.models import Cart, Fulfilment, Order
from orders.selectors import order_detail_queryset, visible_orders
from orders.services import carts, fulfilment
from orders.services.checkout import (
    CheckoutRequest,
    Delivery,
    LineRequest,
    PaymentRequest,
    UnknownSku,
    place_order,
)


class LocationNotAllowed(DomainError):
    code = "location_not_allowed"
    status_code = status.HTTP_403_FORBIDDEN
    message = "You may only act for your own locations."


def check_location(request, location: Location | None) -> None:
    if location is not None and not can_use_location(request.user, location.pk):
        raise LocationNotAllowed(location=location.code)


def home_location(request) -> Location | None:
    """The one location a store-scoped caller works at, if it has exactly one."""
    if isinstance(request.user, TokenUser):  # a register: its locations came with it
        places = list(request.user.token.locations.all())
        return places[0] if len(places) == 1 else None
    ids = visible_location_ids(request.user)
    if ids and len(ids) == 1:
        return Location.objects.get(pk=next(iter(ids)))
    return None


def render_order(order: Order) -> dict:
    """The order's API body; an order that comes with its lines, fulfilments, payments and
    events loaded (a sale just written) is not read again."""
    loaded = getattr(order, "_prefetched_objects_cache", {}).keys()
    if not {"lines", "fulfilments", "payments", "events"} <= loaded:
        order = order_detail_queryset().get(pk=order.pk)
    return render(s.OrderOut, order)


# --- Carts -------------------------------------------------------------------------------


def cart_queryset():
    return Cart.objects.select_related("customer").prefetch_related("lines__sku")


def render_cart(cart: Cart) -> dict:
    return s.CartOut(cart_queryset().get(pk=cart.pk)).data


@extend_schema(tags=["carts"])
class CartViewSet(viewsets.GenericViewSet):
    """A customer's cart is the same on web and app; an anonymous device has its own
    until the customer signs in and it merges."""

    scope = "orders"
    lookup_field = "public_id"
    serializer_class = s.CartOut

    def get_queryset(self):
        return cart_queryset()

    @extend_schema(
        summary="Open the customer's (or device's) cart, or get the open one",
        request=s.CartOpenIn,
        responses={200: s.CartOut},
    )
    def create(self, request):
        data = s.CartOpenIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customer = resolve_customer(values["customer"]) if values.get("customer") else None
        cart = carts.open_cart(
            channel=values["channel"],
            customer=customer,
            device_id="" if customer else values["device_id"],
            currency=values["currency"].upper(),
        )
        return Response(render_cart(cart))

    @extend_schema(summary="A cart by its id", responses={200: s.CartOut})
    def retrieve(self, request, public_id=None):
        return Response(s.CartOut(self.get_object()).data)

    @extend_schema(
        summary="The open cart of a customer or a device",
        parameters=[
            OpenApiParameter("customer", OpenApiTypes.UUID, description="Public id."),
            OpenApiParameter("device_id", OpenApiTypes.STR),
        ],
        responses={200: s.CartOut},
    )
    @action(detail=False, methods=["get"])
    def current(self, request):
        customer_id = request.query_params.get("customer")
        device_id = request.query_params.get("device_id", "")
        if customer_id:
            lookup = {"customer": resolve_customer(customer_id)}
        elif device_id:
            lookup = {"customer": None, "device_id": device_id}
        else:
            raise carts.CartNotFound("Give ?customer=<public id> or ?device_id=.")
        cart = cart_queryset().filter(status=Cart.Status.OPEN, **lookup).first()
        if cart is None:
            raise carts.CartNotFound()
        return Response(s.CartOut(cart).data)

    @extend_schema(
        summary="Set the quantity of one SKU in the cart (0 removes it)",
        request=s.CartLineIn,
        responses={200: s.CartOut},
    )
    @action(detail=True, methods=["post"])
    def lines(self, request, public_id=None):
        cart = self.get_object()
        data = s.CartLineIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sku = Sku.objects.select_related("product").filter(code=values["sku"]).first()
        if sku is None:
            raise UnknownSku(skus=[values["sku"]])
        carts.set_cart_line(
            cart=cart,
            sku=sku,
            quantity=values["quantity"],
            channel=values.get("channel"),
            hold_at=values.get("hold_at"),
        )
        return Response(render_cart(cart))

    @extend_schema(summary="Empty the cart", request=None, responses={200: s.CartOut})
    @action(detail=True, methods=["post"])
    def empty(self, request, public_id=None):
        return Response(render_cart(carts.empty_cart(cart=self.get_object())))

    @extend_schema(
        summary="On sign-in, merge the device's anonymous cart into the customer's",
        request=s.CartMergeIn,
        responses={200: s.CartOut},
    )
    @action(detail=False, methods=["post"])
    def merge(self, request):
        data = s.CartMergeIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        cart = carts.merge_device_cart(
            device_id=values["device_id"],
            customer=resolve_customer(values["customer"]),
            channel=values["channel"],
        )
        return Response(render_cart(cart))


# --- Checkout and orders -----------------------------------------------------------------


def as_delivery(values: dict) -> Delivery | None:
    """The `delivery` object of a checkout body or line, as the service takes it."""
    wanted = values.get("delivery")
    if not wanted:
        return None
    return Delivery(method=wanted["method"], pickup_location=wanted.get("pickup_location"))


@extend_schema(tags=["orders"])
class CheckoutView(APIView):
    """Place an order (web, app, phone, or a store's endless aisle). Every line is
    reserved all-or-nothing; if any cannot be had the answer is 409 `insufficient_stock`
    with the availability of each line, and nothing is written."""

    scope = "orders"

    @extend_schema(
        summary="Place an order",
        request=s.CheckoutIn,
        responses={
            201: s.OrderOut,
            404: OpenApiResponse(description="`unknown_sku`, `customer_not_found`."),
            409: OpenApiResponse(description="`insufficient_stock` with availability."),
            422: OpenApiResponse(
                description="`location_cannot_fulfil` (e.g. no pickup there), "
                "`discount_code_refused`, `payment_mismatch`, `idempotency_key_reused`."
            ),
        },
    )
    @idempotent(required=True)
    def post(self, request):
        data = s.CheckoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        placing = values.get("placing_location") or home_location(request)
        check_location(request, placing)
        profile = {key: values[key] for key in ("first_name", "last_name") if values.get(key)}
        order = place_order(
            request=CheckoutRequest(
                channel=values["channel"],
                lines=[
                    LineRequest(line["sku"], line["quantity"], delivery=as_delivery(line))
                    for line in values["lines"]
                ],
                delivery=as_delivery(values),
                customer_public_id=str(values["customer"]) if values.get("customer") else None,
                email=values["email"],
                phone=values["phone"],
                profile=profile,
                discount_code=values["discount_code"],
                payments=[
                    PaymentRequest(
                        method=payment["method"],
                        amount=payment["amount"],
                        external_reference=payment["external_reference"],
                        captured=payment["captured"],
                    )
                    for payment in values["payments"]
                ],
                placing_location=placing,
                client_reference=values["client_reference"],
                campaign=values["campaign"],
                cart=values.get("cart"),
                notes=values["notes"],
                currency=values["currency"].upper(),
            ),
            actor=Actor.of(request.user),
        )
        return Response(render_order(order), status=status.HTTP_201_CREATED)


@extend_schema(tags=["orders"])
class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    """Orders from every channel, by number. Filter by channel, status, location (placed
    or fulfilled there), customer public id, number and placed range."""

    scope = "orders"
    lookup_field = "number"
    filterset_class = OrderFilter
    ordering_fields = ["placed_at", "total"]

    def get_queryset(self):
        if self.action == "list":
            queryset = Order.objects.select_related("customer", "location")
        else:
            queryset = order_detail_queryset()
        return visible_orders(self.request.user, queryset)

    def get_serializer_class(self):
        return s.OrderListOut if self.action == "list" else s.OrderOut

    @extend_schema(
        summary="Cancel every part not yet shipped or collected, releasing its stock",
        request=s.CancelIn,
        responses={200: s.OrderOut},
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def cancel(self, request, number=None):
        order = self.get_object()
        for part in order.fulfilments.all():
            check_location(request, part.location)
        data = s.CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        fulfilment.cancel_order(
            order=order, reason=data.validated_data["reason"], actor=Actor.of(request.user)
        )
        return Response(render_order(order))


# --- Fulfilment steps --------------------------------------------------------------------


class FulfilmentStep(APIView):
    """POST /orders/<number>/fulfilments/<id>/<step>/: one step of getting a part of the
    order to the customer. The order must be visible to the caller (else 404); store-side
    steps must be done by staff or registers of the fulfilment's own location (else 403)."""

    scope = "orders"
    input_serializer: type = s.NoInput
    store_side = True

    def perform(self, part: Fulfilment, values: dict, actor: Actor):
        raise NotImplementedError

    def get_fulfilment(self, request, number: str, pk: int) -> Fulfilment:
        orders = visible_orders(request.user, Order.objects.filter(number=number))
        part = (
            Fulfilment.objects.select_related("order", "location", "transfer")
            .filter(pk=pk, order__in=orders)
            .first()
        )
        if part is None:
            raise Http404
        if self.store_side:
            check_location(request, part.location)
        return part

    @idempotent()
    def post(self, request, number: str, pk: int):
        part = self.get_fulfilment(request, number, pk)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.perform(part, data.validated_data, Actor.of(request.user))
        return Response(render_order(part.order))


def step_schema(summary: str, request=None, errors: str = ""):
    described = "`invalid_transition` when the part is not in a state for this step."
    return extend_schema(
        tags=["fulfilment"],
        summary=summary,
        request=request,
        responses={
            200: s.OrderOut,
            409: OpenApiResponse(description=described),
            **({422: OpenApiResponse(description=errors)} if errors else {}),
        },
    )


class ReadyForPickupView(FulfilmentStep):
    @step_schema(
        "Mark a pickup ready: the customer gets a code and a deadline", errors="`not_a_pickup`."
    )
    def post(self, request, number, pk):
        return super().post(request, number, pk)

    def perform(self, part, values, actor):
        fulfilment.mark_ready_for_pickup(fulfilment=part, actor=actor)


class CheckInView(FulfilmentStep):
    """The customer's app says "I'm here" (orders:write); no store scope needed."""

    input_serializer = s.CheckInIn
    store_side = False

    @step_schema("Curbside: the customer has arrived", s.CheckInIn, "`not_a_pickup`.")
    def post(self, request, number, pk):
        return super().post(request, number, pk)

    def perform(self, part, values, actor):
        fulfilment.check_in_curbside(fulfilment=part, note=values["note"])


class CollectView(FulfilmentStep):
    input_serializer = s.CollectIn

    @step_schema(
        "Hand a pickup over against its code; the units become a sale",
        s.CollectIn,
        "`wrong_pickup_code`, `not_a_pickup`.",
    )
    def post(self, request, number, pk):
        return super().post(request, number, pk)

    def perform(self, part, values, actor):
        fulfilment.collect_pickup(fulfilment=part, code=values["code"], actor=actor)


class PickView(FulfilmentStep):
    @step_schema("Picked from the shelf")
    def post(self, request, number, pk):
        return super().post(request, number, pk)

    def perform(self, part, values, actor):
        fulfilment.pick_fulfilment(fulfilment=part, actor=actor)


class PackView(FulfilmentStep):
    @step_schema("Packed for shipping", errors="`not_a_shipment`.")
    def post(self, request, number, pk):
        return super().post(request, number, pk)

    def perform(self, part, values, actor):
        fulfilment.pack_fulfilment(fulfilment=part, actor=actor)


class ShipView(FulfilmentStep):
    input_serializer = s.ShipmentIn

    @step_schema("Shipped with a carrier and tracking number", s.ShipmentIn, "`not_a_shipment`.")
    def post(self, request, number, pk):
        return super().post(request, number, pk)

    def perform(self, part, values, actor):
        fulfilment.ship_fulfilment(
            fulfilment=part,
            carrier=values["carrier"],
            tracking_number=values["tracking_number"],
            actor=actor,
        )


class DeliverView(FulfilmentStep):
    store_side = False  # the carrier's webhook reports it, not the store

    @step_schema("Delivered to the customer")
    def post(self, request, number, pk):
        return super().post(request, number, pk)

    def perform(self, part, values, actor):
        fulfilment.deliver_fulfilment(fulfilment=part, actor=actor)


class TransferShipView(FulfilmentStep):
    """Done by the source location that sends the units, so the pickup store's scope is
    not required; the caller must be allowed at the transfer's source."""

    store_side = False

    @step_schema("Send the units a pickup store lacks (its transfer ships)")
    def post(self, request, number, pk):
        return super().post(request, number, pk)

    def perform(self, part, values, actor):
        if part.transfer is not None:
            check_location(self.request, part.transfer.source)
        fulfilment.ship_pickup_transfer(fulfilment=part, actor=actor)


class TransferReceiveView(FulfilmentStep):
    @step_schema("The transfer arrived at the pickup store: hold its units for the order")
    def post(self, request, number, pk):
        return super().post(request, number, pk)

    def perform(self, part, values, actor):
        fulfilment.receive_pickup_transfer(fulfilment=part, actor=actor)
