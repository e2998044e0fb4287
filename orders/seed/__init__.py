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
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from customers.services.identity import resolve_or_create
from inventory.models import Location, Sku
from orders.models import DiscountCode, Order, Promotion, ReturnPolicy
from orders.seed.history import (
    HISTORIC_ORDERS,
    HISTORY_DAYS,
    MIX,
    History,
    add_historic_redemptions,
    add_historic_returns,
)
from orders.seed.live import add_live_orders
from orders.services.credit import issue_gift_card
from orders.services.promotions import issue_single_use_codes

FIRST = ["Ana", "Rui", "Joana", "Miguel", "Lena", "Jonas", "Lucía", "Pablo", "Inês", "Tiago"]
LAST = ["Silva", "Costa", "Ferreira", "Schmidt", "Weber", "García", "López", "Santos", "Ruiz"]


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
        history = History(rng, now)
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
        add_historic_redemptions(history.with_code, codes["SPRING10"])
        returned = add_historic_returns(rng, orders, stores, now)
        for amount in ("50.00", "25.00"):
            issue_gift_card(amount=Decimal(amount), reference=f"demo-gift-{amount}")
    live = add_live_orders(rng, customers, stores, pickup_stores, curbside_stores, skus)
    stdout.write(
        f"orders: {len(orders)} historic orders, {returned} historic returns; live: "
        f"{live['pickups']} pickups, {live['shipments']} parcels, {live['sales']} till sales "
        f"today, {live['returns']} return(s); codes SPRING10, WELCOME5, SUMMER20 (expired)"
    )
