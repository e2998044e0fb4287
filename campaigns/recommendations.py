"""Products to suggest to a customer, for messages and for the API.

Rules kept here:
- Never a product the customer already owns: anything on one of their orders (any channel,
  the till included) that was not cancelled, whatever the size or colour (products, not
  SKUs), nor anything the caller excludes (e.g. what is in their cart).
- First, products bought together with theirs: how many orders, across every channel
  within `OMNI_RECOMMENDATION_WINDOW`, hold both one of the customer's products (or the
  caller's seed products, e.g. the cart) and the candidate. Then best-sellers of the
  categories they buy in, then best-sellers overall.
- In-stock products come first (units available anywhere active); out-of-stock ones only
  fill a list that would otherwise be short.
- A fixed handful of queries whatever the customer's history.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, Min, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from campaigns import conf
from inventory.models import Product, StockLevel

BOUGHT_TOGETHER = "bought_together"
CATEGORY_BEST_SELLER = "category_best_seller"
BEST_SELLER = "best_seller"
REASON_RANK = {BOUGHT_TOGETHER: 0, CATEGORY_BEST_SELLER: 1, BEST_SELLER: 2}
MAX_LIMIT = 20


@dataclass(frozen=True)
class Recommendation:
    product_id: int
    name: str
    slug: str
    category: str
    price: str
    currency: str
    reason: str
    score: int
    available: int

    @property
    def in_stock(self) -> bool:
        return self.available > 0

    def as_context(self) -> dict:
        return {**asdict(self), "in_stock": self.in_stock}


def owned_products(customer_id: int) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT s.product_id FROM orders_orderline l"
            " JOIN orders_order o ON o.id = l.order_id"
            " JOIN inventory_sku s ON s.id = l.sku_id"
            " WHERE o.customer_id = %s AND o.status <> 'cancelled'",
            [customer_id],
        )
        return {row[0] for row in cursor.fetchall()}


# Sold lines of live orders since a time, by product; shared by the three rankings.
_SOLD = """
    SELECT l.order_id, s.product_id, l.quantity, p.category_id
    FROM orders_orderline l
    JOIN orders_order o ON o.id = l.order_id
    JOIN inventory_sku s ON s.id = l.sku_id
    JOIN inventory_product p ON p.id = s.product_id
    WHERE o.status <> 'cancelled' AND o.placed_at > %s AND p.is_active
"""


def _bought_together(seeds: set[int], since: datetime.datetime) -> dict[int, int]:
    if not seeds:
        return {}
    sql = f"""
        WITH sold AS ({_SOLD}),
        baskets AS (SELECT DISTINCT order_id FROM sold WHERE product_id = ANY(%s))
        SELECT product_id, count(DISTINCT order_id) FROM sold
        WHERE order_id IN (SELECT order_id FROM baskets) AND NOT (product_id = ANY(%s))
        GROUP BY product_id
    """  # noqa: S608 - a constant fragment, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [since, list(seeds), list(seeds)])
        return dict(cursor.fetchall())


def _best_sellers(
    since: datetime.datetime, categories: set[int] | None, limit: int
) -> dict[int, int]:
    where = "WHERE category_id = ANY(%s)" if categories is not None else ""
    sql = f"""
        WITH sold AS ({_SOLD})
        SELECT product_id, sum(quantity) AS units FROM sold {where}
        GROUP BY product_id ORDER BY units DESC, product_id LIMIT %s
    """  # noqa: S608 - constant fragments, values are parameters
    params: list = [since]
    if categories is not None:
        params.append(list(categories))
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {product_id: int(units) for product_id, units in cursor.fetchall()}


def available_by_product(product_ids: Iterable[int]) -> dict[int, int]:
    """Units available to sell anywhere active, per product (live stock)."""
    rows = (
        StockLevel.objects.filter(
            sku__product_id__in=list(product_ids),
            sku__is_active=True,
            location__is_active=True,
        )
        .values("sku__product_id")
        .annotate(units=Sum(Greatest(F("on_hand") - F("reserved") - F("safety_stock"), 0)))
    )
    return {row["sku__product_id"]: int(row["units"] or 0) for row in rows}


def recommend_for(
    customer,
    *,
    limit: int = 4,
    seed_product_ids: Iterable[int] = (),
    exclude_product_ids: Iterable[int] = (),
    now: datetime.datetime | None = None,
) -> list[Recommendation]:
    """Up to `limit` products for this customer (see the module for the rules)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    now = now or timezone.now()
    since = now - conf.get("OMNI_RECOMMENDATION_WINDOW")
    owned = owned_products(customer.pk)
    excluded = owned | set(exclude_product_ids)
    seeds = owned | set(seed_product_ids)
    # Enough candidates that in-stock ones can push out-of-stock ones off the list.
    pool = limit * 5 + len(excluded)
    candidates: dict[int, tuple[str, int]] = {}

    def offer(scores: dict[int, int], reason: str) -> None:
        for product_id, score in scores.items():
            if product_id not in excluded and product_id not in candidates:
                candidates[product_id] = (reason, score)

    offer(_bought_together(seeds, since), BOUGHT_TOGETHER)
    categories = set(
        Product.objects.filter(pk__in=seeds, category__isnull=False).values_list(
            "category_id", flat=True
        )
    )
    if categories:
        offer(_best_sellers(since, categories, pool), CATEGORY_BEST_SELLER)
    offer(_best_sellers(since, None, pool), BEST_SELLER)
    if not candidates:
        return []
    products = {
        product.pk: product
        for product in Product.objects.filter(
            pk__in=list(candidates), is_active=True, skus__is_active=True
        )
        .select_related("category")
        .annotate(price=Min("skus__price"), currency=Min("skus__currency"))
    }
    stock = available_by_product(products)
    ranked = sorted(
        products,
        key=lambda pk: (
            stock.get(pk, 0) <= 0,
            REASON_RANK[candidates[pk][0]],
            -candidates[pk][1],
            products[pk].name,
        ),
    )
    return [
        Recommendation(
            product_id=pk,
            name=products[pk].name,
            slug=products[pk].slug,
            category=products[pk].category.name if products[pk].category else "",
            price=str(products[pk].price or Decimal(0)),
            currency=products[pk].currency or "EUR",
            reason=candidates[pk][0],
            score=candidates[pk][1],
            available=stock.get(pk, 0),
        )
        for pk in ranked[:limit]
    ]
