"""Live: what is still open today (pickups, parcels, today's till sales, a return at the
counter) goes through the services, so reservations and the ledger are real."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customers.models import Customer
from inventory.models import Location, Sku, StockLevel
from omni.errors import DomainError
from orders.models import (
    Fulfilment,
    Return,
    SalesChannel,
)
from orders.seed.history import M
from orders.services import fulfilment as steps
from orders.services import pos, returns
from orders.services.checkout import (
    CheckoutRequest,
    Delivery,
    LineRequest,
    PaymentRequest,
    place_order,
)


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


def add_live_orders(
    rng: random.Random, customers, stores, pickup_stores, curbside_stores, skus
) -> dict:
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
