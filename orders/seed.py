"""Demo orders: four months of trade across channels and stores, pickups in every state,
a few returns, discount codes and gift cards, so the desks and metrics look like a real
retailer's.

History happened before the opening stock count the inventory seed recorded, so historic
orders are bulk-inserted as finished records that do not touch stock. Everything still
open today (pickups waiting, parcels on the way, today's till sales, a return at the
counter) goes through the services, so reservations and the ledger are real and on hand
still equals the ledger sum.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from customers.models import Customer
from customers.services.identity import resolve_or_create
from inventory.models import Location, Sku, StockLevel
from omni.errors import DomainError
from orders.models import (
    DiscountCode,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Promotion,
    Redemption,
    Refund,
    Return,
    ReturnLine,
    ReturnPolicy,
    SalesChannel,
)
from orders.services import fulfilment as steps
from orders.services import pos, returns
from orders.services.checkout import (
    CheckoutRequest,
    Delivery,
    LineRequest,
    PaymentRequest,
    included_tax,
    place_order,
)
from orders.services.credit import issue_gift_card
from orders.services.promotions import issue_single_use_codes

HISTORY_DAYS = 120
HISTORIC_ORDERS = 1500
CENT = Decimal("0.01")
M = Fulfilment.Method
S = Fulfilment.Status
CARRIERS = ["CTT", "DHL", "SEUR", "GLS", "DPD"]
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
FIRST = ["Ana", "Rui", "Joana", "Miguel", "Lena", "Jonas", "Lucía", "Pablo", "Inês", "Tiago"]
LAST = ["Silva", "Costa", "Ferreira", "Schmidt", "Weber", "García", "López", "Santos", "Ruiz"]
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


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _customers(rng: random.Random) -> list[Customer]:
    """The customers seed's customers; a few of our own if it made none."""
    existing = list(
        Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True).order_by("pk")[
            :400
        ]
    )
    if len(existing) >= 40:
        return existing
    made = []
    for index in range(60):
        first, last = FIRST[index % len(FIRST)], LAST[(index * 7) % len(LAST)]
        made.append(
            resolve_or_create(
                identities=[
                    {
                        "kind": "email",
                        "value": f"{_ascii(first)}.{_ascii(last)}.{index}@example.com",
                    }
                ],
                profile={"first_name": first, "last_name": last},
                channel="web",
            ).customer
        )
    return existing + made


def _promotions(customers: list[Customer], now: datetime) -> dict[str, DiscountCode]:
    spring = Promotion.objects.create(
        name="Spring sale 10%",
        kind=Promotion.Kind.PERCENTAGE,
        value=Decimal("10"),
        starts_at=now - timedelta(days=HISTORY_DAYS + 1),
        ends_at=now + timedelta(days=30),
    )
    welcome = Promotion.objects.create(
        name="Welcome €5 off €50",
        kind=Promotion.Kind.AMOUNT,
        value=Decimal("5"),
        minimum_spend=Decimal("50"),
        per_customer_limit=1,
    )
    summer = Promotion.objects.create(
        name="Summer 20% (ended)",
        kind=Promotion.Kind.PERCENTAGE,
        value=Decimal("20"),
        starts_at=now - timedelta(days=200),
        ends_at=now - timedelta(days=140),
    )
    come_back = Promotion.objects.create(
        name="We miss you 15%", kind=Promotion.Kind.PERCENTAGE, value=Decimal("15")
    )
    codes = {
        "SPRING10": DiscountCode.objects.create(promotion=spring, code="SPRING10"),
        "WELCOME5": DiscountCode.objects.create(promotion=welcome, code="WELCOME5"),
        "SUMMER20": DiscountCode.objects.create(promotion=summer, code="SUMMER20"),
    }
    issue_single_use_codes(
        promotion=come_back,
        customers=customers[:8],
        prefix="BACK",
        expires_at=now + timedelta(days=21),
        campaign="win-back",
    )
    return codes


# --- History -----------------------------------------------------------------------------


class _History:
    """Rows for finished orders, inserted in bulk."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.numbers: set[str] = set()
        self.orders: list[Order] = []
        self.parts: list[list[Fulfilment]] = []
        self.lines: list[list[tuple[OrderLine, int]]] = []
        self.payments: list[list[Payment]] = []
        self.events: list[list[OrderEvent]] = []
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
        order.uses_code = uses_code
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
        final.when = done_at
        placed.when = when
        self.orders.append(order)
        self.parts.append([part])
        self.lines.append([(row, 0) for row in rows])
        self.payments.append(payments)
        self.events.append([placed, final] if kind != "pos" else [final])

    def save(self) -> list[Order]:
        Order.objects.bulk_create(self.orders, batch_size=500)
        parts = []
        for order, order_parts in zip(self.orders, self.parts, strict=True):
            for part in order_parts:
                part.order = order
                parts.append(part)
        Fulfilment.objects.bulk_create(parts, batch_size=500)
        lines, payments, events = [], [], []
        for index, order in enumerate(self.orders):
            part = self.parts[index][0]
            for row, _ in self.lines[index]:
                row.order, row.fulfilment = order, part
                lines.append(row)
            for payment in self.payments[index]:
                payment.order = order
                payments.append(payment)
            for event in self.events[index]:
                event.order = order
                event.fulfilment = part if event.kind != "order.placed" else None
                events.append(event)
        OrderLine.objects.bulk_create(lines, batch_size=1000)
        Payment.objects.bulk_create(payments, batch_size=1000)
        OrderEvent.objects.bulk_create(events, batch_size=1000)
        # auto_now_add stamped "now": put the history back in its time.
        _backdate_events(events)
        placed_at = Order.objects.filter(pk=OuterRef("order_id")).values("placed_at")[:1]
        Payment.objects.filter(order__in=self.orders).update(created_at=Subquery(placed_at))
        return self.orders


def _backdate_events(events: list[OrderEvent]) -> None:
    """One UPDATE ... FROM (VALUES ...) instead of one UPDATE per event."""
    from django.db import connection

    rows = [(event.pk, event.when) for event in events]
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


def _historic_redemptions(orders: list[Order], code: DiscountCode) -> None:
    used = [order for order in orders if getattr(order, "uses_code", False)]
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


def _historic_returns(rng: random.Random, orders: list[Order], stores, now) -> int:
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


# --- Live: through the services ----------------------------------------------------------


def _free_skus(location: Location, skus_by_id: dict[int, Sku], at_least: int = 2) -> list[Sku]:
    levels = StockLevel.objects.filter(
        location=location,
        on_hand__gte=F("reserved") + F("safety_stock") + at_least,
        sku_id__in=list(skus_by_id),
    ).values_list("sku_id", flat=True)
    return [skus_by_id[pk] for pk in levels]


def _pickup(rng, who, store, skus, method=M.CLICK_AND_COLLECT, channel="app"):
    return place_order(
        request=CheckoutRequest(
            channel=channel,
            **who,
            lines=[LineRequest(sku.code, 1) for sku in rng.sample(skus, min(len(skus), 2))],
            delivery=Delivery(method=method, pickup_location=store),
            payments=[],
        )
    )


def _who(customer: Customer) -> dict:
    """The customer by their id (never a made-up email that would make a second
    customer), with their email or phone for the order's messages."""
    contact = {
        identity.kind: identity.value
        for identity in customer.identities.filter(kind__in=["email", "phone"])
    }
    return {
        "customer_public_id": str(customer.public_id),
        "email": contact.get("email", ""),
        "phone": contact.get("phone", ""),
    }


def _live(rng: random.Random, customers, stores, pickup_stores, curbside_stores, skus) -> dict:
    skus_by_id = {sku.pk: sku for sku in skus}
    people = [_who(customer) for customer in rng.sample(customers, min(30, len(customers)))]
    made = {"pickups": 0, "shipments": 0, "sales": 0, "returns": 0}
    now = timezone.now()

    def next_who() -> dict:
        return people[(made["pickups"] + made["shipments"] + made["sales"]) % len(people)]

    # Expired first: expiring is a sweep over every overdue pickup.
    for store in pickup_stores[:2]:
        free = _free_skus(store, skus_by_id)
        if len(free) < 4:
            continue
        order = _pickup(rng, next_who(), store, free)
        part = steps.mark_ready_for_pickup(fulfilment=order.fulfilments.first())
        Fulfilment.objects.filter(pk=part.pk).update(pickup_deadline=now - timedelta(hours=1))
        made["pickups"] += 1
    steps.expire_overdue_pickups(now=now)

    for store in pickup_stores:
        free = _free_skus(store, skus_by_id)
        if len(free) < 4:
            continue
        busy = store in pickup_stores[:2]
        for _ in range(3 if busy else 1):  # to pick
            _pickup(rng, next_who(), store, free)
            made["pickups"] += 1
        for state in ["ready", "ready", "due_today", "overdue", "collected", "cancelled"][
            : 6 if busy else 2
        ]:
            order = _pickup(rng, next_who(), store, _free_skus(store, skus_by_id) or free)
            made["pickups"] += 1
            part = order.fulfilments.first()
            if state == "cancelled":
                steps.cancel_order(order=order, reason="Customer changed their mind")
                continue
            part = steps.mark_ready_for_pickup(fulfilment=part)
            if state == "due_today":
                Fulfilment.objects.filter(pk=part.pk).update(
                    pickup_deadline=now + timedelta(hours=rng.randint(2, 5))
                )
            elif state == "overdue":
                Fulfilment.objects.filter(pk=part.pk).update(
                    pickup_deadline=now - timedelta(hours=rng.randint(1, 3))
                )
            elif state == "collected":
                steps.collect_pickup(fulfilment=part, code=part.pickup_code)
        # One still on its way by transfer: a SKU the store lacks but another has.
        lacking = (
            StockLevel.objects.filter(location=store, on_hand=0, sku_id__in=list(skus_by_id))
            .values_list("sku_id", flat=True)
            .first()
        )
        if lacking is not None and busy:
            try:
                with transaction.atomic():
                    place_order(
                        request=CheckoutRequest(
                            channel="web",
                            **next_who(),
                            lines=[LineRequest(skus_by_id[lacking].code, 1)],
                            delivery=Delivery(method=M.CLICK_AND_COLLECT, pickup_location=store),
                        )
                    )
                made["pickups"] += 1
            except DomainError:
                pass  # nowhere has it: the demo simply lacks this one

    for store in curbside_stores:
        free = _free_skus(store, skus_by_id)
        if len(free) < 4:
            continue
        for note in ["bay 3, red Fiat 500", "blue Golf by the entrance"]:
            order = _pickup(rng, next_who(), store, free, method=M.CURBSIDE)
            part = steps.mark_ready_for_pickup(fulfilment=order.fulfilments.first())
            steps.check_in_curbside(fulfilment=part, note=note)
            # They pulled up a few minutes ago, so the queue shows a real wait.
            Fulfilment.objects.filter(pk=part.pk).update(
                arrived_at=now - timedelta(minutes=rng.randint(3, 11))
            )
            made["pickups"] += 1

    # Parcels: one waiting to be picked, one on its way, one delivered and returned.
    shipped = []
    for stage in ["allocated", "shipped", "delivered"]:
        sku = rng.choice(skus)
        try:
            with transaction.atomic():
                order = place_order(
                    request=CheckoutRequest(
                        channel="web",
                        **next_who(),
                        lines=[LineRequest(sku.code, 1)],
                        delivery=Delivery(method=M.SHIP),
                        payments=[PaymentRequest("card", sku.price, "psp_live", True)],
                    )
                )
        except DomainError:
            continue  # sold out everywhere in this demo
        made["shipments"] += 1
        part = order.fulfilments.first()
        if stage == "allocated":
            continue
        part = steps.pack_fulfilment(fulfilment=steps.pick_fulfilment(fulfilment=part))
        part = steps.ship_fulfilment(
            fulfilment=part, carrier="CTT", tracking_number=f"RR{rng.randrange(10**9):09d}PT"
        )
        if stage == "delivered":
            steps.deliver_fulfilment(fulfilment=part)
            shipped.append(order)

    # Today's till sales in every store.
    for store in stores:
        free = _free_skus(store, skus_by_id, at_least=1)
        for index in range(rng.randint(3, 6)):
            if not free:
                break
            sku = rng.choice(free)
            pos.record_pos_sale(
                request=pos.PosSaleRequest(
                    location=store,
                    client_reference=f"{store.code[:3].upper()}-TODAY-{index:03d}",
                    lines=[pos.PosLine(sku_code=sku.code, quantity=1)],
                    payments=[("card", sku.price, f"emv_{rng.randrange(10**6)}")],
                    sold_at=now - timedelta(minutes=rng.randint(5, 300)),
                )
            )
            made["sales"] += 1

    # The delivered web order comes back at a store, refunded to store credit.
    counter = next((store for store in stores if store.accepts_returns), None)
    for order in shipped:
        if counter is None:
            break
        line = order.lines.first()
        taken = returns.start_return(
            order=order,
            lines=[returns.ReturnLineRequest(order_line_id=line.pk, quantity=1, reason="too big")],
            channel=SalesChannel.STORE,
            location=counter,
        )
        returns.inspect_return(
            return_request=taken, conditions={taken.lines.first().pk: "resellable"}
        )
        returns.refund_return(return_request=taken, method=Return.RefundMethod.STORE_CREDIT)
        made["returns"] += 1
    return made


def seed(*, stdout, force: bool = False) -> None:
    if Order.objects.exists():
        stdout.write("orders: orders already there, skipped")
        return
    stores = list(
        Location.objects.filter(
            kind=Location.Kind.STORE, is_active=True, sells_in_store=True
        ).order_by("pk")
    )
    skus = list(
        Sku.objects.filter(is_active=True, product__is_active=True)
        .select_related("product")
        .order_by("pk")
    )
    if not stores or not skus:
        stdout.write("orders: no stores or catalogue yet, skipped")
        return
    pickup_stores = [store for store in stores if store.offers_click_and_collect] or stores[:1]
    curbside_stores = [store for store in stores if store.offers_curbside]
    shippers = list(Location.objects.filter(is_active=True, ships_to_customers=True)) or stores
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible on purpose
    now = timezone.now()
    with transaction.atomic():
        customers = _customers(rng)
        codes = _promotions(customers, now)
        ReturnPolicy.objects.get_or_create(channel="", defaults={"window_days": 30})
        history = _History(rng, now)
        weights = [weight for _, weight in MIX]
        kinds = [kind for kind, _ in MIX]
        for _ in range(HISTORIC_ORDERS):
            kind = rng.choices(kinds, weights)[0]
            if kind == "curbside" and not curbside_stores:
                kind = "click_and_collect"
            days_ago = rng.triangular(2, HISTORY_DAYS, 2)  # busier lately
            when = (now - timedelta(days=days_ago)).replace(
                hour=rng.randint(8, 19), minute=rng.randint(0, 59)
            )
            history.add(
                kind=kind,
                customer=rng.choice(customers),
                when=when,
                stores=stores,
                pickup_stores=pickup_stores,
                curbside_stores=curbside_stores,
                shippers=shippers,
                skus=skus,
            )
        orders = history.save()
        _historic_redemptions(orders, codes["SPRING10"])
        returned = _historic_returns(rng, orders, stores, now)
        for amount in ("50.00", "25.00"):
            issue_gift_card(amount=Decimal(amount), reference=f"demo-gift-{amount}")
    live = _live(rng, customers, stores, pickup_stores, curbside_stores, skus)
    stdout.write(
        f"orders: {len(orders)} historic orders, {returned} historic returns; live: "
        f"{live['pickups']} pickups, {live['shipments']} parcels, {live['sales']} till sales "
        f"today, {live['returns']} return(s); codes SPRING10, WELCOME5, SUMMER20 (expired)"
    )
