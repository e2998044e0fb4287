"""History: finished orders inserted in bulk. They happened before the opening stock
count, so they do not touch stock."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import OuterRef, Subquery

from inventory.models import Location
from orders.models import (
    DiscountCode,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Redemption,
    Refund,
    Return,
    ReturnLine,
    SalesChannel,
)
from orders.services.checkout import (
    included_tax,
)

HISTORY_DAYS = 120
HISTORIC_ORDERS = 1500
CENT = Decimal("0.01")
M = Fulfilment.Method
S = Fulfilment.Status
CARRIERS = ["CTT", "DHL", "SEUR", "GLS", "DPD"]
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# (kind, weight): how a retailer's orders split over channels and ways to get them.
MIX = [
    ("pos", 45),
    ("web_ship", 20),
    ("app_ship", 9),
    ("click_and_collect", 13),
    ("curbside", 5),
    ("phone", 4),
    ("marketplace", 4),
]


def _number(rng: random.Random, prefix: str, when: datetime, taken: set[str]) -> str:
    while True:
        number = f"{prefix}-{when:%Y}-" + "".join(rng.choice(ALPHABET) for _ in range(6))
        if number not in taken:
            taken.add(number)
            return number


class History:
    """Rows for finished orders, inserted in bulk."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.numbers: set[str] = set()
        self.orders: list[Order] = []
        self.parts: list[list[Fulfilment]] = []
        self.lines: list[list[OrderLine]] = []
        self.payments: list[list[Payment]] = []
        # Each event with the time it happened (auto_now_add stamps "now" on insert).
        self.events: list[list[tuple[OrderEvent, datetime]]] = []
        self.with_code: list[Order] = []
        self.register_counter = 0

    def add(self, *, kind, customer, when, stores, pickup_stores, curbside_stores, shippers, skus):
        rng = self.rng
        channel = {
            "pos": SalesChannel.STORE,
            "phone": SalesChannel.PHONE,
            "marketplace": SalesChannel.MARKETPLACE,
            "app_ship": SalesChannel.APP,
        }.get(kind, rng.choice([SalesChannel.WEB, SalesChannel.APP]))
        order = Order(
            number=_number(rng, "POS" if kind == "pos" else "OM", when, self.numbers),
            channel=channel,
            customer=customer if (kind != "pos" or rng.random() < 0.55) else None,
            currency="EUR",
            placed_at=when,
        )
        chosen = rng.sample(skus, rng.choice([1, 1, 1, 2, 2, 3]))
        lines = [(sku, 1 if rng.random() < 0.8 else 2) for sku in chosen]
        status = Order.Status.FULFILLED
        if kind == "pos":
            store = rng.choice(stores)
            self.register_counter += 1
            order.location = store
            order.client_reference = f"{store.code[:3].upper()}-T{self.register_counter:06d}"
            order.status = Order.Status.COMPLETED
            part = Fulfilment(
                method=M.IN_STORE, location=store, status=S.COLLECTED, collected_at=when
            )
            terminal = "pos.sale"
        elif kind in {"click_and_collect", "curbside"}:
            store = rng.choice(curbside_stores if kind == "curbside" else pickup_stores)
            ready = when + timedelta(hours=rng.randint(2, 26))
            deadline = ready + timedelta(days=store.pickup_hold_days)
            part = Fulfilment(
                method=kind,
                location=store,
                ready_at=ready,
                pickup_deadline=deadline,
                pickup_code=f"{rng.randrange(10**6):06d}",
            )
            roll = rng.random()
            if roll < 0.88:
                part.status = S.COLLECTED
                part.collected_at = ready + timedelta(hours=rng.randint(1, 70))
                if kind == "curbside":
                    part.arrived_at = part.collected_at - timedelta(minutes=rng.randint(2, 12))
                    part.arrival_note = rng.choice(["bay 2", "bay 4, grey van", "red Fiat 500"])
            elif roll < 0.96:
                part.status = S.EXPIRED
                status = Order.Status.CANCELLED
            else:
                part.status = S.CANCELLED
                part.ready_at = part.pickup_deadline = None
                status = Order.Status.CANCELLED
            terminal = f"fulfilment.{part.status}"
        else:
            source = rng.choice(shippers)
            shipped = when + timedelta(hours=rng.randint(6, 40))
            part = Fulfilment(
                method=M.SHIP if source.kind != Location.Kind.STORE else M.SHIP_FROM_STORE,
                location=source,
                status=S.DELIVERED,
                carrier=rng.choice(CARRIERS),
                tracking_number=f"RR{rng.randrange(10**9):09d}PT",
                shipped_at=shipped,
                delivered_at=shipped + timedelta(days=rng.randint(1, 4)),
            )
            if rng.random() < 0.03:
                part.status = S.CANCELLED
                part.carrier = part.tracking_number = ""
                part.shipped_at = part.delivered_at = None
                status = Order.Status.CANCELLED
            terminal = f"fulfilment.{part.status}"
        if kind != "pos":
            order.status = status
        rows = [
            OrderLine(
                sku=sku,
                quantity=quantity,
                unit_price=sku.price,
                unit_cost=sku.cost,
                total=sku.price * quantity,
            )
            for sku, quantity in lines
        ]
        order.subtotal = sum((row.total for row in rows), Decimal(0))
        uses_code = kind != "pos" and rng.random() < 0.08
        if uses_code:
            discount = (order.subtotal * Decimal("0.10")).quantize(CENT, rounding=ROUND_HALF_UP)
            rows[0].discount = min(discount, rows[0].total)
            rows[0].total -= rows[0].discount
        for row in rows:
            row.tax = included_tax(row.total)
        order.discount_total = sum((row.discount for row in rows), Decimal(0))
        order.total = sum((row.total for row in rows), Decimal(0))
        order.tax_total = sum((row.tax for row in rows), Decimal(0))
        if uses_code:
            self.with_code.append(order)
        payments = []
        if order.status != Order.Status.CANCELLED:
            method = rng.choice(
                ["card", "card", "card", "cash", "wallet"]
                if kind == "pos"
                else ["card", "card", "wallet"]
            )
            payments.append(
                Payment(
                    method=method,
                    amount=order.total,
                    currency="EUR",
                    external_reference="" if method == "cash" else f"psp_{rng.randrange(10**8)}",
                    captured=True,
                )
            )
        placed = OrderEvent(kind="order.placed", to_status="allocated", data={})
        done_at = part.collected_at or part.delivered_at or part.pickup_deadline or when
        final = OrderEvent(kind=terminal, to_status=order.status, data={})
        self.orders.append(order)
        self.parts.append([part])
        self.lines.append(rows)
        self.payments.append(payments)
        self.events.append(
            [(placed, when), (final, done_at)] if kind != "pos" else [(final, done_at)]
        )

    def save(self) -> list[Order]:
        Order.objects.bulk_create(self.orders, batch_size=500)
        parts = []
        for order, order_parts in zip(self.orders, self.parts, strict=True):
            for part in order_parts:
                part.order = order
                parts.append(part)
        Fulfilment.objects.bulk_create(parts, batch_size=500)
        lines, payments, events, times = [], [], [], []
        for index, order in enumerate(self.orders):
            part = self.parts[index][0]
            for row in self.lines[index]:
                row.order, row.fulfilment = order, part
                lines.append(row)
            for payment in self.payments[index]:
                payment.order = order
                payments.append(payment)
            for event, at in self.events[index]:
                event.order = order
                event.fulfilment = part if event.kind != "order.placed" else None
                events.append(event)
                times.append(at)
        OrderLine.objects.bulk_create(lines, batch_size=1000)
        Payment.objects.bulk_create(payments, batch_size=1000)
        OrderEvent.objects.bulk_create(events, batch_size=1000)
        # auto_now_add stamped "now": put the history back in its time.
        _backdate_events(events, times)
        placed_at = Order.objects.filter(pk=OuterRef("order_id")).values("placed_at")[:1]
        Payment.objects.filter(order__in=self.orders).update(created_at=Subquery(placed_at))
        return self.orders


def _backdate_events(events: list[OrderEvent], times: list[datetime]) -> None:
    """One UPDATE ... FROM (VALUES ...) per thousand events, not one per event."""
    rows = [(event.pk, at) for event, at in zip(events, times, strict=True)]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            values = ", ".join(["(%s, %s::timestamptz)"] * len(chunk))
            params = [value for row in chunk for value in row]
            cursor.execute(
                f"UPDATE {OrderEvent._meta.db_table} AS e SET created_at = v.at "  # noqa: S608 - table name from the model, values are parameters
                f"FROM (VALUES {values}) AS v(id, at) WHERE e.id = v.id",
                params,
            )


def add_historic_redemptions(used: list[Order], code: DiscountCode) -> None:
    Order.objects.filter(pk__in=[order.pk for order in used]).update(discount_code=code)
    Redemption.objects.bulk_create(
        Redemption(
            code=code,
            customer=order.customer,
            reference=order.number,
            amount=order.discount_total,
            currency=order.currency,
        )
        for order in used
    )
    DiscountCode.objects.filter(pk=code.pk).update(times_redeemed=len(used))


def add_historic_returns(rng: random.Random, orders: list[Order], stores, now) -> int:
    """A few of last month's orders came back to a store and were refunded."""
    recent = [
        order
        for order in orders
        if order.status in {Order.Status.FULFILLED, Order.Status.COMPLETED}
        and now - order.placed_at < timedelta(days=45)
        and order.placed_at < now - timedelta(days=3)
    ]
    chosen = rng.sample(recent, min(40, len(recent)))
    numbers: set[str] = set()
    made = 0
    for order in chosen:
        line = OrderLine.objects.filter(order=order).select_related("order").first()
        payment = Payment.objects.filter(order=order).first()
        if line is None or payment is None:
            continue
        received = order.placed_at + timedelta(days=rng.randint(2, 12))
        received = min(received, now - timedelta(hours=2))
        amount = (line.total / line.quantity).quantize(CENT)
        taken = Return.objects.create(
            number=_number(rng, "RT", received, numbers),
            order=order,
            customer_id=order.customer_id,
            channel=SalesChannel.STORE,
            location=rng.choice(stores),
            status=Return.Status.REFUNDED,
            refund_method=Return.RefundMethod.ORIGINAL_PAYMENT,
            refund_total=amount,
            received_at=received,
            refunded_at=received,
            policy_verdict={str(line.pk): {"allowed": True, "reasons": []}},
        )
        ReturnLine.objects.create(
            return_request=taken,
            order_line=line,
            quantity=1,
            reason=rng.choice(["too small", "too big", "not as pictured", "changed my mind"]),
            condition=rng.choice(["resellable", "resellable", "resellable", "damaged"]),
            refund_amount=amount,
        )
        Refund.objects.create(
            order=order,
            return_request=taken,
            payment=payment,
            method=payment.method,
            amount=amount,
            currency=order.currency,
        )
        Return.objects.filter(pk=taken.pk).update(requested_at=received)
        made += 1
    return made
