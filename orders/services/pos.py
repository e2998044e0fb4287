"""Completed sales posted by POS registers, possibly hours later (offline).

A sale is a fact: it is always recorded, whatever stock says (inventory raises a
discrepancy instead). The same sale posted again, twice, in any order, is recorded once:
the register's transaction id is unique per register, so a replay returns the first
order and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.db import IntegrityError
from django.utils import timezone

from customers.services.identity import resolve_or_create
from inventory.models import Location, Product, Sku
from inventory.services.pos import SaleLine
from inventory.services.pos import record_pos_sale as record_stock_sale
from omni.auth import SYSTEM, Actor
from omni.errors import BadRequest, Conflict
from omni.rows import insert_linked, select_rows
from orders.models import Fulfilment, Order, OrderEvent, OrderLine, Payment, SalesChannel
from orders.services.checkout import (
    CENT,
    UnknownSku,
    allocate_discount,
    included_tax,
    with_fresh_number,
)
from orders.services.customer_feed import feed_purchase
from orders.services.promotions import Line as PricedLine
from orders.services.promotions import quote_discount, redeem_discount_code
from orders.signals import announce, fulfilment_completed, purchase_recorded


class PosSaleConflict(Conflict):
    code = "pos_sale_reference_reused"
    message = "This register already recorded a different sale under this transaction id."


@dataclass(frozen=True)
class PosLine:
    sku_code: str
    quantity: int
    unit_price: Decimal | None = None  # the till's price; the catalogue's if not given
    discount: Decimal = Decimal(0)


@dataclass
class PosSaleRequest:
    location: Location
    client_reference: str
    lines: Sequence[PosLine]
    payments: Sequence[tuple[str, Decimal, str]] = ()  # (method, amount, external ref)
    sold_at: datetime | None = None
    customer_identities: Sequence[dict] = ()  # e.g. [{"kind": "loyalty_card", ...}]
    discount_code: str = ""
    currency: str = "EUR"
    notes: str = field(default="")


def _fingerprint(request: PosSaleRequest) -> list:
    return sorted([line.sku_code, line.quantity] for line in request.lines)


def record_pos_sale(*, request: PosSaleRequest, actor: Actor = SYSTEM) -> tuple[Order, bool]:
    """Record a till sale as a completed order at the register's store; returns
    (order, replayed)."""
    reference = (request.client_reference or "").strip()
    if not reference or len(reference) > 64:
        raise BadRequest(
            "A POS sale needs the register's transaction id (1-64 characters).",
            field="client_reference",
        )
    # A register's replay is caught by the unique index on (register, reference) when the
    # order is written (below); staff sales have no register, so theirs is looked up first.
    if actor.token is None and (existing := _existing(actor, reference)) is not None:
        return _replayed(existing, request)
    if not request.lines:
        raise BadRequest("A sale needs at least one line.", field="lines")
    codes = {line.sku_code for line in request.lines}
    skus = {sku.code: sku for sku in select_rows(Sku, "code = ANY(%s)", [sorted(codes)])}
    if missing := sorted(codes - set(skus)):
        raise UnknownSku(skus=missing)
    for index, line in enumerate(request.lines):
        if (
            isinstance(line.quantity, bool)
            or not isinstance(line.quantity, int)
            or not (0 < line.quantity <= 999)
        ):
            raise BadRequest(
                "Quantities are whole numbers from 1 to 999.", field=f"lines[{index}].quantity"
            )
    try:
        return with_fresh_number(partial(_record, request, reference, skus, actor), "POS"), False
    except IntegrityError:
        # The same sale raced in from a second post; it won, so this one is a replay.
        existing = _existing(actor, reference)
        if existing is None:
            raise
        return _replayed(existing, request)


def _existing(actor: Actor, reference: str) -> Order | None:
    return Order.objects.filter(
        register_token=actor.token, client_reference=reference, channel=SalesChannel.STORE
    ).first()


def _replayed(order: Order, request: PosSaleRequest) -> tuple[Order, bool]:
    recorded = sorted([line.sku.code, line.quantity] for line in order.lines.select_related("sku"))
    if recorded != _fingerprint(request):
        raise PosSaleConflict(order=order.number)
    return order, True


def prefetched(instance, **related: list) -> None:
    """Fill `instance`'s related managers with objects in hand, as `prefetch_related`
    would have loaded them."""
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, objects in related.items():
        queryset = getattr(instance, name).all()
        queryset._result_cache = list(objects)
        queryset._prefetch_done = True
        cache[name] = queryset


def _record(
    request: PosSaleRequest, reference: str, skus: dict[str, Sku], actor: Actor, number: str
) -> Order:
    """The sale's whole write, in the savepoint `with_fresh_number` opens."""
    customer = None
    if request.customer_identities:
        customer = resolve_or_create(
            identities=request.customer_identities, channel="store", location=request.location
        ).customer
    sold_at = request.sold_at or timezone.now()
    lines = []
    for line in request.lines:
        sku = skus[line.sku_code]
        unit_price = Decimal(line.unit_price) if line.unit_price is not None else sku.price
        lines.append(
            OrderLine(
                sku=sku,
                quantity=line.quantity,
                unit_price=unit_price,
                discount=Decimal(line.discount).quantize(CENT),
                unit_cost=sku.cost,
                total=Decimal(0),
            )
        )
    discount_total = sum((line.discount for line in lines), Decimal(0))
    discount_code = None
    if request.discount_code:
        # Only a discount rule needs the products' categories: read them here, at once.
        category_of = dict(
            Product.objects.filter(pk__in={line.sku.product_id for line in lines}).values_list(
                "pk", "category_id"
            )
        )
        quote = quote_discount(
            code=request.discount_code,
            lines=[
                PricedLine(
                    sku_id=line.sku_id,
                    category_id=category_of[line.sku.product_id],
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    already_discounted=bool(line.discount),
                )
                for line in lines
            ],
            currency=request.currency,
            customer=customer,
            at=sold_at,
        )
        allocate_discount(lines, quote.discount, quote.eligible_sku_ids)
        discount_total += quote.discount
        redeem_discount_code(quote=quote, reference=number, customer=customer)
        discount_code = quote.code
    for line in lines:
        line.total = max(line.unit_price * line.quantity - line.discount, Decimal(0))
        line.tax = included_tax(line.total)
    # The totals are known before the order is written, so it is written once, with its
    # fulfilment, lines, payments and event, in one statement.
    order = Order(
        number=number,
        channel=SalesChannel.STORE,
        location=request.location,
        register_token=actor.token,
        client_reference=reference,
        customer=customer,
        currency=request.currency,
        status=Order.Status.COMPLETED,
        placed_at=sold_at,
        notes=request.notes,
        discount_code=discount_code,
        subtotal=sum((line.unit_price * line.quantity for line in lines), Decimal(0)),
        discount_total=discount_total,
        total=sum((line.total for line in lines), Decimal(0)),
        tax_total=sum((line.tax for line in lines), Decimal(0)),
    )
    fulfilment = Fulfilment(
        method=Fulfilment.Method.IN_STORE,
        location=request.location,
        status=Fulfilment.Status.COLLECTED,
        collected_at=sold_at,
    )
    payments = [
        Payment(
            method=method,
            amount=Decimal(amount),
            currency=order.currency,
            external_reference=external,
            captured=True,
        )
        for method, amount, external in request.payments
    ]
    event = OrderEvent(
        kind="pos.sale",
        to_status=order.status,
        actor_user=actor.user,
        actor_token=actor.token,
    )
    insert_linked(
        [
            (order, {}),
            (fulfilment, {"order": order}),
            *[(line, {"order": order, "fulfilment": fulfilment}) for line in lines],
            *[(payment, {"order": order}) for payment in payments],
            (event, {"order": order}),
        ]
    )
    # Stock leaves the register's store; inventory keeps its own once-per-reference rule.
    record_stock_sale(
        location=request.location,
        reference=f"{actor.token.pk if actor.token else 'staff'}:{reference}"[:64],
        lines=[SaleLine(sku=line.sku, quantity=line.quantity) for line in lines],
        sold_at=sold_at,
        actor=actor,
    )
    # The order as `order_detail_queryset` loads it, so the answer needs no second read.
    prefetched(fulfilment, lines=lines)
    prefetched(order, lines=lines, fulfilments=[fulfilment], payments=payments, events=[event])
    feed_purchase(order)
    announce(purchase_recorded, order=order)
    announce(fulfilment_completed, fulfilment=fulfilment)
    return order
