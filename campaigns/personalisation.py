"""What a journey message may say to its reader, built when the step runs.

Everything here becomes plain JSON in the delivery's `context` (templates see it as
`context.*`; the reader's name and preferred store are added by `rendering`):
- `store`: the preferred store's name and city;
- `cart.lines`: what is still in the cart with live stock ("only 2 left"), without the
  items already bought since they were added (on any channel);
- `recommendations`: products for them (see `campaigns.recommendations`);
- `discount`: a single-use code issued through `orders` — offered only on products the
  customer did not buy at full price within the configured window;
- `order`: the order a post-purchase message is about.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Sum
from django.db.models.functions import Greatest

from campaigns.recommendations import recommend_for
from campaigns.services.rules import discountable_products, skus_bought_since
from inventory.models import Location, StockLevel
from inventory.selectors import Channel, channel_filter, stock_status
from orders.models import Cart, CartLine, Order
from orders.services.promotions import issue_single_use_codes

RECOMMENDATIONS_PER_MESSAGE = 3


@dataclass
class Personalised:
    context: dict = field(default_factory=dict)
    # Set when the message has nothing left to say (e.g. every cart item was bought).
    skip_reason: str = ""


def available_by_sku(sku_ids) -> dict[int, int]:
    """Units the web shop can sell now, per SKU (every active online or pickup location)."""
    rows = (
        StockLevel.objects.filter(sku_id__in=list(sku_ids))
        .filter(location__in=Location.objects.filter(channel_filter(Channel.WEB)))
        .values("sku_id")
        .annotate(units=Sum(Greatest(F("on_hand") - F("reserved") - F("safety_stock"), 0)))
    )
    return {row["sku_id"]: int(row["units"] or 0) for row in rows}


def cart_lines(*, cart: Cart, customer_id: int) -> list[dict]:
    """The cart's lines still worth showing: not bought since they were added."""
    lines = list(
        CartLine.objects.filter(cart=cart).select_related("sku__product").order_by("added_at")
    )
    bought = skus_bought_since(
        customer_id=customer_id, since={line.sku_id: line.added_at for line in lines}
    )
    lines = [line for line in lines if line.sku_id not in bought]
    stock = available_by_sku(line.sku_id for line in lines)
    shown = []
    for line in lines:
        available = stock.get(line.sku_id, 0)
        status = stock_status(available)
        shown.append(
            {
                "sku": line.sku.code,
                "sku_id": line.sku_id,
                "product_id": line.sku.product_id,
                "name": line.sku.name or line.sku.product.name,
                "quantity": line.quantity,
                "price": str(line.sku.price),
                "currency": line.sku.currency,
                "available": available,
                "stock_status": status,
                "only_left": available if status == "low_stock" else None,
            }
        )
    return shown


def store_context(customer) -> dict:
    store = customer.preferred_store
    if store is None:
        return {}
    return {"name": store.name, "city": store.city, "code": store.code}


def issue_code(*, customer, promotion, valid_days: int, now: datetime.datetime, ref: str) -> dict:
    [code] = issue_single_use_codes(
        promotion=promotion,
        customers=[customer],
        prefix="J",
        expires_at=now + datetime.timedelta(days=valid_days),
        campaign=ref[:64],
    )
    value = promotion.value
    label = (
        f"{value.normalize():f}%"
        if promotion.kind == promotion.Kind.PERCENTAGE
        else f"{value.quantize(Decimal('0.01'))} {promotion.currency}"
    )
    return {
        "code": code.code,
        "kind": promotion.kind,
        "value": str(value),
        "label": label,
        "expires_at": code.expires_at.isoformat(),
    }


def personalise(*, enrollment, step, now: datetime.datetime) -> Personalised:
    """The context of one send step of one enrolment (see the module for what it holds)."""
    customer = enrollment.customer
    subject = enrollment.subject or {}
    context: dict = {"store": store_context(customer)}
    cart_products: list[int] = []
    if subject.get("cart_id"):
        cart = Cart.objects.filter(pk=subject["cart_id"]).first()
        lines = cart_lines(cart=cart, customer_id=customer.pk) if cart else []
        if not lines:
            return Personalised(context, skip_reason="nothing_left_in_cart")
        context["cart"] = {"lines": lines, "count": sum(line["quantity"] for line in lines)}
        cart_products = [line["product_id"] for line in lines]
    if subject.get("order_id"):
        order = Order.objects.filter(pk=subject["order_id"]).first()
        if order is not None:
            context["order"] = {
                "number": order.number,
                "channel": order.channel,
                "total": str(order.total),
                "currency": order.currency,
                "items": [
                    line.sku.name or line.sku.product.name
                    for line in order.lines.select_related("sku__product")
                ],
            }
    context["recommendations"] = [
        item.as_context()
        for item in recommend_for(
            customer,
            limit=RECOMMENDATIONS_PER_MESSAGE,
            seed_product_ids=cart_products,
            exclude_product_ids=cart_products,
            now=now,
        )
    ]
    if step.promotion_id:
        if cart_products:
            allowed = set(
                discountable_products(customer_id=customer.pk, product_ids=cart_products, now=now)
            )
            if not allowed:
                return Personalised(context, skip_reason="no_discountable_items")
            for line in context["cart"]["lines"]:
                line["discounted"] = line["product_id"] in allowed
        context["discount"] = issue_code(
            customer=customer,
            promotion=step.promotion,
            valid_days=step.code_valid_days,
            now=now,
            ref=f"journey:{enrollment.journey.key}",
        )
    return Personalised(context)
