"""What orders add to a customer's page, export and erasure."""

from customers import hooks
from orders.models import Cart, Notification, Order, Return
from orders.selectors import visible_orders

OPEN_STATUSES = [Order.Status.PLACED, Order.Status.ALLOCATED, Order.Status.PARTIALLY_FULFILLED]


def _orders_panel(customer, request) -> dict:
    orders = (
        Order.objects.filter(customer=customer)
        .select_related("location")
        .prefetch_related("fulfilments__location")
        .order_by("-placed_at")
    )
    returns = Return.objects.filter(customer=customer).select_related("order", "location")
    shown = list(orders[:10])
    # The customer's orders from every channel are listed; those the clerk may open link.
    openable = set(
        visible_orders(
            request.user, Order.objects.filter(pk__in=[o.pk for o in shown])
        ).values_list("pk", flat=True)
    )
    for order in shown:
        order.openable = order.pk in openable
    return {
        "orders": shown,
        "order_total": orders.count(),
        "returns": list(returns.order_by("-requested_at")[:5]),
    }


def _carts_panel(customer, request) -> dict:
    carts = Cart.objects.filter(customer=customer, status=Cart.Status.OPEN)
    return {"carts": list(carts.prefetch_related("lines__sku"))}


def refuse_erase_with_open_orders(customer) -> str | None:
    numbers = list(
        Order.objects.filter(customer=customer, status__in=OPEN_STATUSES).values_list(
            "number", flat=True
        )[:5]
    )
    return f"open orders: {', '.join(numbers)}" if numbers else None


def export_orders(customer) -> list[dict]:
    return [
        {
            "number": order.number,
            "channel": order.channel,
            "status": order.status,
            "placed_at": order.placed_at.isoformat(),
            "total": str(order.total),
            "currency": order.currency,
            "lines": [
                {"sku": line.sku.code, "quantity": line.quantity, "total": str(line.total)}
                for line in order.lines.all()
            ],
        }
        for order in Order.objects.filter(customer=customer).prefetch_related("lines__sku")
    ]


def erase_order_contacts(customer) -> None:
    """Orders stay (they are the retailer's books) without the contact details typed at
    checkout; sent notifications lose their address and the names rendered into them."""
    Order.objects.filter(customer=customer).update(email="", phone="")
    Notification.objects.filter(customer=customer).update(recipient="", context={})
    Cart.objects.filter(customer=customer).update(device_id="")


hooks.register_360_panel(
    "orders",
    "admin/orders/panels/orders.html",
    _orders_panel,
    title="Orders and returns across channels",
    order=30,
)
hooks.register_360_panel(
    "carts", "admin/orders/panels/carts.html", _carts_panel, title="Open carts", order=40
)
hooks.register_erase_guard("orders", refuse_erase_with_open_orders)
hooks.register_export_section("orders", export_orders)
hooks.register_erase_step("orders", erase_order_contacts)
