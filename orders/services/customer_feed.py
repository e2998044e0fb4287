"""What orders tell the customers app: every purchase and return feeds the customer's
metrics, loyalty and timeline through customers' own functions (idempotent by reference),
so the dependency points one way."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from customers.services.metrics import record_purchase, record_return
from orders.models import Order, Return


def feed_purchase(order: Order) -> None:
    if order.customer_id is None:
        return
    lines = list(order.lines.all())
    record_purchase(
        customer=order.customer,
        order_reference=order.number,
        occurred_at=order.placed_at,
        channel=order.channel,
        location=order.location,
        revenue=order.subtotal,
        cost=sum(((line.unit_cost or Decimal(0)) * line.quantity for line in lines), Decimal(0)),
        discount=order.discount_total,
        currency=order.currency,
    )


def feed_cancellation(order: Order) -> None:
    """A cancelled order gives back what it counted: recorded as a full return."""
    if order.customer_id is None or not order.total:
        return
    lines = list(order.lines.all())
    record_return(
        customer=order.customer,
        return_reference=f"cancel:{order.number}",
        occurred_at=timezone.now(),
        amount=order.total,
        cost=sum(((line.unit_cost or Decimal(0)) * line.quantity for line in lines), Decimal(0)),
    )


def feed_return(return_request: Return) -> None:
    if return_request.customer_id is None:
        return
    lines = list(return_request.lines.select_related("order_line"))
    record_return(
        customer=return_request.customer,
        return_reference=return_request.number,
        occurred_at=return_request.refunded_at or timezone.now(),
        amount=return_request.refund_total,
        cost=sum(
            ((line.order_line.unit_cost or Decimal(0)) * line.quantity for line in lines),
            Decimal(0),
        ),
    )
