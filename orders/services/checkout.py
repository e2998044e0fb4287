"""Checkout: an order from the web shop, the app, the phone or a store's endless aisle.

The whole order is one transaction: the customer is resolved, prices are taken from the
catalogue, the discount is checked, every line is reserved all-or-nothing at the
locations sourcing chose, and the order, its fulfilments, lines and payments are written.
If any line cannot be had, the answer is 409 `insufficient_stock` with the availability
of every line, and nothing is written.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import Customer
from customers.services.identity import resolve_customer, resolve_or_create
from inventory.models import Location, Reservation, Sku
from inventory.services.reservations import BasketLine, reserve_basket
from inventory.services.transfers import LineRequest as TransferLineRequest
from inventory.services.transfers import create_transfer
from omni.auth import SYSTEM, Actor
from omni.errors import BadRequest, NotFound, RuleBroken
from omni.webhooks import emit
from orders.models import Cart, Fulfilment, Order, OrderEvent, OrderLine, Payment, SalesChannel
from orders.services.carts import release_cart_holds
from orders.services.customer_feed import feed_purchase
from orders.services.notifications import notify_customer
from orders.services.promotions import Line as PricedLine
from orders.services.promotions import quote_discount, redeem_discount_code
from orders.services.sourcing import plan_fulfilments
from orders.signals import announce, purchase_recorded
from orders.webhooks import order_data

CENT = Decimal("0.01")
# Orders hold their units until shipped or collected; the longest a reservation may live.
ORDER_HOLD = timedelta(days=30)
NUMBER_CONSTRAINT = "orders_order_number_key"
T = TypeVar("T")


class EmptyOrder(BadRequest):
    code = "empty_order"
    message = "An order needs at least one line."


class UnknownSku(NotFound):
    code = "unknown_sku"
    message = "Unknown or inactive SKU."


class PaymentMismatch(RuleBroken):
    code = "payment_mismatch"
    message = "The payments do not add up to the order total."


class NoCustomer(BadRequest):
    code = "customer_required"
    message = "An order needs a customer: their public id, or an email or phone."


@dataclass(frozen=True)
class Delivery:
    method: str  # Fulfilment.Method
    pickup_location: Location | None = None


@dataclass(frozen=True)
class LineRequest:
    sku_code: str
    quantity: int
    delivery: Delivery | None = None  # this line's own delivery; else the order's


@dataclass(frozen=True)
class PaymentRequest:
    method: str
    amount: Decimal
    external_reference: str = ""
    captured: bool = False


@dataclass
class CheckoutRequest:
    channel: str
    lines: Sequence[LineRequest]
    delivery: Delivery
    customer_public_id: str | None = None
    email: str = ""
    phone: str = ""
    profile: dict = field(default_factory=dict)
    discount_code: str = ""
    payments: Sequence[PaymentRequest] = ()
    placing_location: Location | None = None
    client_reference: str = ""
    campaign: str = ""
    notes: str = ""
    currency: str = "EUR"
    cart: Cart | None = None  # checked out from this cart: its holds end, it is converted


def next_number(prefix: str = "OM") -> str:
    """Order numbers a person can read out at a counter: OM-2026-7K3QX9."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return f"{prefix}-{timezone.now():%Y}-" + "".join(secrets.choice(alphabet) for _ in range(6))


NUMBER_DRAWS = 5


def with_fresh_number(write: Callable[[str], T], prefix: str) -> T:
    """`write(number)` in a savepoint with a newly drawn order number; when another order
    already holds that number (one in about 900 million, but a busy shop draws millions),
    the savepoint is rolled back and the write runs again with another. Any other
    integrity error is the caller's."""
    for draw in range(1, NUMBER_DRAWS + 1):
        try:
            with transaction.atomic():
                return write(next_number(prefix))
        except IntegrityError as error:
            clash = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
            if clash != NUMBER_CONSTRAINT or draw == NUMBER_DRAWS:
                raise


def included_tax(amount: Decimal) -> Decimal:
    """Prices include VAT at `OMNI_VAT_RATE`; this is the tax inside `amount`."""
    rate = Decimal(str(settings.OMNI_VAT_RATE))
    return (amount * rate / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def _resolve_customer(request: CheckoutRequest) -> Customer:
    if request.customer_public_id:
        return resolve_customer(request.customer_public_id)
    identities = [
        {"kind": kind, "value": value}
        for kind, value in (("email", request.email), ("phone", request.phone))
        if value
    ]
    if not identities:
        raise NoCustomer()
    return resolve_or_create(
        identities=identities,
        profile=request.profile,
        channel=request.channel,
        location=request.placing_location,
    ).customer


def _load_skus(lines: Sequence[LineRequest]) -> dict[str, Sku]:
    if not lines:
        raise EmptyOrder()
    codes = {line.sku_code for line in lines}
    skus = {
        sku.code: sku
        for sku in Sku.objects.select_related("product").filter(
            code__in=codes, is_active=True, product__is_active=True
        )
    }
    missing = sorted(codes - set(skus))
    if missing:
        raise UnknownSku(skus=missing)
    for index, line in enumerate(lines):
        if (
            isinstance(line.quantity, bool)
            or not isinstance(line.quantity, int)
            or not (0 < line.quantity <= 999)
        ):
            raise BadRequest(
                "Quantities are whole numbers from 1 to 999.", field=f"lines[{index}].quantity"
            )
    return skus


def allocate_discount(lines: list[OrderLine], discount: Decimal, eligible: set[int]) -> None:
    """Spread an order-level discount over its eligible lines in proportion to their value
    (added to any line discount already there); the last line takes the rounding remainder
    so the parts add up exactly. Returns use these per-line figures for refunds."""
    targets = [line for line in lines if line.sku_id in eligible] or lines
    base = sum(line.unit_price * line.quantity for line in targets)
    left = discount
    for index, line in enumerate(targets):
        if index == len(targets) - 1:
            share = left
        else:
            share = (discount * line.unit_price * line.quantity / base).quantize(CENT)
        line.discount += share
        left -= share


def place_order(*, request: CheckoutRequest, actor: Actor = SYSTEM) -> Order:
    """Place an order from any channel; see the module docstring for the rules kept."""
    if request.channel not in SalesChannel.values:
        raise BadRequest("Unknown channel.", channel=request.channel, known=SalesChannel.values)
    skus = _load_skus(request.lines)
    # Lines grouped by how they reach the customer: one order may mix a pickup and a
    # parcel. A SKU travels one way per order.
    groups: dict[Delivery, dict[str, int]] = {}
    ways: dict[str, Delivery] = {}
    for line in request.lines:
        delivery = line.delivery or request.delivery
        if ways.setdefault(line.sku_code, delivery) != delivery:
            raise BadRequest("A SKU is delivered one way per order.", sku=line.sku_code)
        group = groups.setdefault(delivery, {})
        group[line.sku_code] = group.get(line.sku_code, 0) + line.quantity

    return with_fresh_number(partial(_place, request, skus, groups, actor), "OM")


def _place(
    request: CheckoutRequest,
    skus: dict[str, Sku],
    groups: dict[Delivery, dict[str, int]],
    actor: Actor,
    number: str,
) -> Order:
    """The order's whole write, in the savepoint `with_fresh_number` opens."""
    if request.cart is not None:
        # The cart's short holds give way to the order's own reservation below.
        release_cart_holds(cart=request.cart)
    customer = _resolve_customer(request)
    plan = [
        part
        for delivery, quantities in groups.items()
        for part in plan_fulfilments(
            items=[(skus[code], quantity) for code, quantity in sorted(quantities.items())],
            method=delivery.method,
            pickup_location=delivery.pickup_location,
        )
    ]
    order = Order.objects.create(
        number=number,
        channel=request.channel,
        location=request.placing_location,
        register_token=actor.token,
        client_reference=request.client_reference,
        customer=customer,
        email=request.email,
        phone=request.phone,
        currency=request.currency,
        campaign=request.campaign,
        notes=request.notes,
        placed_at=timezone.now(),
    )
    reservations = reserve_basket(
        lines=[
            BasketLine(location=part.source, sku=sku, quantity=quantity)
            for part in plan
            for sku, quantity in part.items
        ],
        owner_type=Reservation.OwnerType.ORDER,
        owner_ref=number,
        ttl=ORDER_HOLD,
        actor=actor,
    )
    held = {(r.location_id, r.sku_id): r.pk for r in reservations}
    transfers = _request_transfers(order=order, plan=plan, actor=actor)
    lines: list[OrderLine] = []
    for part in plan:
        fulfilment = Fulfilment.objects.create(
            order=order,
            method=part.method,
            location=part.location,
            status=(
                Fulfilment.Status.AWAITING_TRANSFER
                if part.needs_transfer
                else Fulfilment.Status.ALLOCATED
            ),
            transfer_id=transfers.get(part.source.pk),
            sourcing_explanation=part.reasons,
        )
        for sku, quantity in part.items:
            lines.append(
                OrderLine(
                    order=order,
                    fulfilment=fulfilment,
                    sku=sku,
                    quantity=quantity,
                    unit_price=sku.price,
                    unit_cost=sku.cost,
                    total=Decimal(0),
                    reservation_id=held[(part.source.pk, sku.pk)],
                )
            )
    priced = [
        PricedLine(
            sku_id=line.sku_id,
            category_id=line.sku.product.category_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
        )
        for line in lines
    ]
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    discount = Decimal(0)
    if request.discount_code:
        quote = quote_discount(
            code=request.discount_code,
            lines=priced,
            currency=request.currency,
            customer=customer,
        )
        discount = quote.discount
        eligible = {line.sku_id for line in priced if line.sku_id in quote.eligible_sku_ids}
        allocate_discount(lines, discount, eligible)
        redeem_discount_code(quote=quote, reference=number, customer=customer)
        order.discount_code = quote.code
    for line in lines:
        line.total = line.unit_price * line.quantity - line.discount
        line.tax = included_tax(line.total)
    OrderLine.objects.bulk_create(lines)
    order.subtotal = subtotal
    order.discount_total = discount
    order.total = subtotal - discount
    order.tax_total = sum((line.tax for line in lines), Decimal(0))
    order.status = Order.Status.ALLOCATED
    order.save(
        update_fields=[
            "subtotal",
            "discount_total",
            "total",
            "tax_total",
            "status",
            "discount_code",
        ]
    )
    _record_payments(order=order, payments=request.payments)
    OrderEvent.objects.create(
        order=order,
        kind="order.placed",
        to_status=order.status,
        data={
            "fulfilments": [
                {"method": part.method, "location": part.location.code, "why": part.reasons}
                for part in plan
            ]
        },
        actor_user=actor.user,
        actor_token=actor.token,
    )
    feed_purchase(order)
    emit("order.placed", partial(order_data, order, lines))
    if request.cart is not None:
        Cart.objects.filter(pk=request.cart.pk, status=Cart.Status.OPEN).update(
            status=Cart.Status.CONVERTED
        )
    transaction.on_commit(partial(_after_placed, order_id=order.pk))
    announce(purchase_recorded, order=order)
    return order


def _request_transfers(*, order: Order, plan, actor: Actor) -> dict[int, int]:
    """Units a pickup store lacks travel there by transfer; the units stay reserved at
    the source for this order until the transfer ships."""
    transfers = {}
    for part in plan:
        if not part.needs_transfer:
            continue
        transfer = create_transfer(
            source=part.source,
            destination=part.location,
            lines=[TransferLineRequest(sku=sku, quantity=quantity) for sku, quantity in part.items],
            reference=f"order:{order.number}",
            actor=actor,
        )
        transfers[part.source.pk] = transfer.pk
    return transfers


def _record_payments(*, order: Order, payments: Sequence[PaymentRequest]) -> None:
    if not payments:
        return
    paid = sum((Decimal(payment.amount) for payment in payments), Decimal(0))
    if paid != order.total:
        raise PaymentMismatch(total=str(order.total), paid=str(paid))
    Payment.objects.bulk_create(
        Payment(
            order=order,
            method=payment.method,
            amount=payment.amount,
            currency=order.currency,
            external_reference=payment.external_reference,
            captured=payment.captured,
        )
        for payment in payments
    )


def _after_placed(*, order_id: int) -> None:
    order = Order.objects.get(pk=order_id)
    notify_customer(order=order, template="order_confirmation", key=f"confirmation:{order.pk}")
