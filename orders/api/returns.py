"""POS sales and returns over the API.

A register's token is scoped to its store: its sales and the returns it takes are at that
store. Returns are taken anywhere: a Lisbon clerk may find a web order shipped from the
warehouse (the lookup needs `returns:write`), but the return is received at the clerk's
own store, and returns received elsewhere do not exist for them (404).
"""

from __future__ import annotations

from django.db.models import Prefetch, Q
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from omni.api.serializers import validated
from omni.auth import Actor, visible_location_ids
from omni.idempotency import idempotent
from orders.api import returns_serializers as s
from orders.api.views import check_location, home_location, render_order
from orders.models import Order, OrderLine, Return, ReturnLine, SalesChannel
from orders.selectors import visible_orders
from orders.services import pos, returns
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest
from orders.services.return_policy import evaluate_return


def _location_for(request, given):
    """The location named in the body (must be the caller's), else the caller's one."""
    location = given or home_location(request)
    check_location(request, location)
    return location


@extend_schema(tags=["pos"])
class PosSaleView(APIView):
    """A completed till sale: always recorded (stock beyond the record becomes a
    discrepancy, never a refusal), exactly once per register transaction id."""

    required_scopes = {"POST": "sales:write"}

    @extend_schema(
        summary="Record a completed POS sale",
        request=s.TillSaleIn,
        responses={
            201: s.TillSaleOut,
            200: OpenApiResponse(s.TillSaleOut, description="Already recorded: the first order."),
            404: OpenApiResponse(description="`unknown_sku`."),
            409: OpenApiResponse(
                description="`pos_sale_reference_reused`: another sale under this id."
            ),
            422: OpenApiResponse(description="`discount_code_refused`, `idempotency_key_reused`."),
        },
    )
    @idempotent(required=True)
    def post(self, request):
        values = validated(s.TillSaleIn, request.data)
        location = _location_for(request, values.get("location"))
        if location is None:
            raise ValidationError({"location": ["Say which store the sale was made in."]})
        order, replayed = pos.record_pos_sale(
            request=pos.PosSaleRequest(
                location=location,
                client_reference=values["client_reference"],
                lines=[
                    pos.PosLine(
                        sku_code=line["sku"],
                        quantity=line["quantity"],
                        unit_price=line.get("unit_price"),
                        discount=line["discount"],
                    )
                    for line in values["lines"]
                ],
                payments=[
                    (payment["method"], payment["amount"], payment["external_reference"])
                    for payment in values["payments"]
                ],
                sold_at=values.get("sold_at"),
                customer_identities=[dict(identity) for identity in values["customer_identities"]],
                discount_code=values["discount_code"],
                currency=values["currency"].upper(),
                notes=values["notes"],
            ),
            actor=Actor.of(request.user),
        )
        body = {"replayed": replayed, "order": render_order(order)}
        return Response(body, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)


def return_queryset():
    return Return.objects.select_related("order", "customer", "location").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line__sku")),
        "refunds",
    )


def visible_returns(user, queryset):
    """Returns received at the caller's stores, or of orders the caller may see."""
    ids = visible_location_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(
        Q(location_id__in=ids) | Q(order__in=visible_orders(user, Order.objects.all()))
    )


def render_return(return_request: Return) -> dict:
    return s.ReturnOut(return_queryset().get(pk=return_request.pk)).data


def _write_schema(summary: str, request, errors: str):
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: s.ReturnOut, 422: OpenApiResponse(description=errors)},
    )


@extend_schema(tags=["returns"])
class ReturnViewSet(viewsets.ReadOnlyModelViewSet):
    """Returns of any order, taken at any store that accepts them or by post. Reading
    needs `orders:read`; starting, receiving, inspecting and refunding `returns:write`."""

    scope = "orders"
    required_scopes = {"POST": "returns:write"}
    lookup_field = "number"
    serializer_class = s.ReturnOut
    filterset_fields = ["status", "channel"]

    def get_queryset(self):
        return visible_returns(self.request.user, return_queryset())

    def get_permissions(self):
        if self.action == "lookup":
            self.required_scopes = {"GET": "returns:write"}
        return super().get_permissions()

    @extend_schema(
        summary="Find orders to return: by number, till receipt, or customer identity",
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description="Order number, receipt (client reference), email, phone or "
                "loyalty card.",
            )
        ],
        responses={200: s.ReturnableOrderOut(many=True)},
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def lookup(self, request):
        if "q" not in request.query_params:
            raise ValidationError({"q": ["Required: an order number, receipt or identity."]})
        found = returns.find_orders_for_return(query=request.query_params.get("q", ""))
        orders = (
            Order.objects.filter(pk__in=[order.pk for order in found])
            .select_related("customer", "location")
            .prefetch_related(
                Prefetch(
                    "lines",
                    queryset=OrderLine.objects.select_related(
                        "sku__product", "fulfilment", "order"
                    ),
                )
            )
            .order_by("-placed_at")
        )
        for order in orders:
            order.returnable_lines = list(order.lines.all())
            for line in order.returnable_lines:
                verdict = evaluate_return(order_line=line, quantity=1)
                line.returnable_quantity = verdict.returnable_quantity
                line.verdict = verdict.as_dict()
        return Response(s.ReturnableOrderOut(orders, many=True).data)

    @extend_schema(
        summary="Start a return (at a counter: received at once)",
        request=s.ReturnStartIn,
        responses={
            201: s.ReturnOut,
            400: OpenApiResponse(description="`line_not_in_order`, invalid quantities."),
            404: OpenApiResponse(description="No such order."),
            422: OpenApiResponse(
                description="`return_not_allowed` with each line's verdict, "
                "`override_not_permitted`, `location_does_not_accept_returns`."
            ),
        },
    )
    @idempotent(required=True)
    def create(self, request):
        data = s.ReturnStartIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # Any order may come back at any store: the order is found across all channels.
        order = Order.objects.filter(number__iexact=values["order"]).first()
        if order is None:
            raise Http404
        location = _location_for(request, values.get("location"))
        channel = values.get("return_channel") or (
            SalesChannel.STORE if location is not None else SalesChannel.WEB
        )
        return_request = returns.start_return(
            order=order,
            lines=[
                returns.ReturnLineRequest(
                    order_line_id=line["order_line"],
                    quantity=line["quantity"],
                    reason=line["reason"],
                )
                for line in values["lines"]
            ],
            channel=channel,
            location=location,
            override_reason=values["override_reason"],
            actor=Actor.of(request.user),
        )
        return Response(render_return(return_request), status=status.HTTP_201_CREATED)

    @_write_schema(
        "A requested return arrives at a store or warehouse",
        s.ReturnReceiveIn,
        "`location_does_not_accept_returns`.",
    )
    @action(detail=True, methods=["post"])
    @idempotent(required=True)
    def receive(self, request, number=None):
        return_request = self.get_object_for_write()
        data = s.ReturnReceiveIn(data=request.data)
        data.is_valid(raise_exception=True)
        location = _location_for(request, data.validated_data.get("location"))
        if location is None:
            raise ValidationError({"location": ["Say where the return was received."]})
        returns.receive_return(
            return_request=return_request, location=location, actor=Actor.of(request.user)
        )
        return Response(render_return(return_request))

    @_write_schema(
        "Grade each line: resellable goes back on hand here, the rest into damaged stock",
        s.ReturnInspectIn,
        "",
    )
    @action(detail=True, methods=["post"])
    @idempotent(required=True)
    def inspect(self, request, number=None):
        return_request = self.get_object_for_write()
        check_location(request, return_request.location)
        data = s.ReturnInspectIn(data=request.data)
        data.is_valid(raise_exception=True)
        returns.inspect_return(
            return_request=return_request,
            conditions={line["line"]: line["condition"] for line in data.validated_data["lines"]},
            actor=Actor.of(request.user),
        )
        return Response(render_return(return_request))

    @_write_schema(
        "Refund to the original payment, to store credit, or as an exchange",
        s.ReturnRefundIn,
        "`no_payment_to_refund`, `customer_required` (store credit needs a customer), "
        "`exchange_costs_more`.",
    )
    @action(detail=True, methods=["post"])
    @idempotent(required=True)
    def refund(self, request, number=None):
        return_request = self.get_object_for_write()
        data = s.ReturnRefundIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        exchange = None
        if "exchange" in values:
            wanted = values["exchange"]
            exchange = CheckoutRequest(
                channel=SalesChannel.STORE,
                lines=[LineRequest(line["sku"], line["quantity"]) for line in wanted["lines"]],
                delivery=Delivery(
                    method=wanted["delivery"]["method"],
                    pickup_location=wanted["delivery"].get("pickup_location"),
                ),
                placing_location=return_request.location,
            )
        returns.refund_return(
            return_request=return_request,
            method=values["refund_method"],
            exchange=exchange,
            actor=Actor.of(request.user),
        )
        return Response(render_return(return_request))

    def get_object_for_write(self) -> Return:
        """A requested return (not yet at any store) may be received by any store; once
        received, only its store's staff work on it."""
        number = self.kwargs["number"]
        queryset = Return.objects.select_related("order", "location")
        return_request = self.get_queryset().filter(number=number).first()
        if return_request is None:
            return_request = queryset.filter(number=number, status=Return.Status.REQUESTED).first()
        if return_request is None:
            raise Http404
        return queryset.get(pk=return_request.pk)
