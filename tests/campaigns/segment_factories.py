"""Shop history for segment tests: orders with lines, returns, metrics, loyalty, carts."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from customers.models import ActivityEvent, CustomerMetrics, LoyaltyAccount
from inventory.models import Category, Product, Sku
from orders.models import Cart, CartLine, Order, OrderLine, Return, ReturnLine

NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)
_numbers = itertools.count(1)


def category(slug: str, parent: Category | None = None) -> Category:
    return Category.objects.get_or_create(
        slug=slug, defaults={"name": slug.replace("-", " ").title(), "parent": parent}
    )[0]


def product(slug: str, cat: Category | None = None) -> Product:
    item, _ = Product.objects.get_or_create(
        slug=slug, defaults={"name": slug.replace("-", " ").title(), "category": cat}
    )
    Sku.objects.get_or_create(
        code=slug.upper() + "-1", defaults={"product": item, "price": Decimal("50.00")}
    )
    return item


def order(
    customer,
    *products: Product,
    days_ago: float = 1,
    channel: str = "web",
    status: str = Order.Status.PLACED,
    location=None,
    total: str = "50.00",
) -> Order:
    placed = Order.objects.create(
        number=f"SEG-{next(_numbers):06d}",
        channel=channel,
        customer=customer,
        status=status,
        location=location,
        total=Decimal(total),
        subtotal=Decimal(total),
        placed_at=NOW - datetime.timedelta(days=days_ago),
    )
    for item in products:
        OrderLine.objects.create(
            order=placed,
            sku=item.skus.first(),
            quantity=1,
            unit_price=Decimal("50.00"),
            total=Decimal("50.00"),
        )
    return placed


def returned(placed: Order, *, days_ago: float = 1, status=Return.Status.RECEIVED) -> Return:
    request = Return.objects.create(
        number=f"RET-{next(_numbers):06d}",
        order=placed,
        customer=placed.customer,
        channel=placed.channel,
        status=status,
    )
    Return.objects.filter(pk=request.pk).update(
        requested_at=NOW - datetime.timedelta(days=days_ago)
    )
    ReturnLine.objects.create(return_request=request, order_line=placed.lines.first(), quantity=1)
    return request


def metrics(customer, **values) -> CustomerMetrics:
    return CustomerMetrics.objects.update_or_create(customer=customer, defaults=values)[0]


def tier(customer, name: str) -> LoyaltyAccount:
    return LoyaltyAccount.objects.update_or_create(customer=customer, defaults={"tier": name})[0]


def abandoned_cart(customer, item: Product, *, idle_hours: float = 3) -> Cart:
    cart = Cart.objects.create(
        customer=customer,
        channel="web",
        last_activity_at=NOW - datetime.timedelta(hours=idle_hours),
    )
    CartLine.objects.create(
        cart=cart, sku=item.skus.first(), quantity=1, unit_price=Decimal("50.00"), currency="EUR"
    )
    return cart


def event(customer, type_: str, *, days_ago: float = 1, location=None, **properties):
    return ActivityEvent.objects.create(
        event_id=f"seg-evt-{next(_numbers)}",
        type=type_,
        occurred_at=NOW - datetime.timedelta(days=days_ago),
        customer=customer,
        channel="web",
        location=location,
        properties=properties,
    )
