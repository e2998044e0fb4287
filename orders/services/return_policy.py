"""Whether a line may come back: the window, final-sale categories, and how many units are
left to return across all of its returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from orders.models import Fulfilment, OrderLine, Return, ReturnLine, ReturnPolicy

DEFAULT_POLICY = ReturnPolicy(window_days=30, required_condition="like new")


@dataclass
class Verdict:
    allowed: bool
    returnable_quantity: int
    window_ends: datetime | None
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "allowed": self.allowed,
            "returnable_quantity": self.returnable_quantity,
            "window_ends": self.window_ends.isoformat() if self.window_ends else None,
            "reasons": self.reasons,
        }


def policy_for(channel: str) -> ReturnPolicy:
    policies = {p.channel: p for p in ReturnPolicy.objects.filter(channel__in=[channel, ""])}
    return policies.get(channel) or policies.get("") or DEFAULT_POLICY


def returned_quantity(order_line: OrderLine) -> int:
    """Units of this line already in a return that was not cancelled."""
    return (
        ReturnLine.objects.filter(order_line=order_line)
        .exclude(return_request__status=Return.Status.CANCELLED)
        .aggregate(total=Sum("quantity"))["total"]
        or 0
    )


def _handed_over_at(order_line: OrderLine) -> datetime:
    """The window runs from delivery or collection; till sales from the sale itself."""
    fulfilment = order_line.fulfilment
    if fulfilment is not None:
        if fulfilment.status == Fulfilment.Status.DELIVERED and fulfilment.delivered_at:
            return fulfilment.delivered_at
        if fulfilment.status == Fulfilment.Status.COLLECTED and fulfilment.collected_at:
            return fulfilment.collected_at
    return order_line.order.placed_at


def evaluate_return(*, order_line: OrderLine, quantity: int, at: datetime | None = None) -> Verdict:
    """The policy's verdict on returning `quantity` units of a line now."""
    at = at or timezone.now()
    order = order_line.order
    policy = policy_for(order.channel)
    left = order_line.quantity - returned_quantity(order_line)
    reasons = []
    if quantity > left:
        reasons.append(f"only {left} of {order_line.quantity} left to return")
    fulfilment = order_line.fulfilment
    not_yet_received = (
        fulfilment is not None
        and fulfilment.status
        not in {
            Fulfilment.Status.DELIVERED,
            Fulfilment.Status.COLLECTED,
            Fulfilment.Status.SHIPPED,
        }
        and order.status != order.Status.COMPLETED
    )
    if not_yet_received:
        reasons.append("the customer has not received this item yet; cancel instead")
    window_ends = _handed_over_at(order_line) + timedelta(days=policy.window_days)
    if at > window_ends:
        reasons.append(f"outside the {policy.window_days}-day return window")
    if policy.pk:
        category_id = order_line.sku.product.category_id
        final_sale = set(policy.final_sale_categories.values_list("pk", flat=True))
        if category_id in final_sale:
            reasons.append("final sale")
    return Verdict(
        allowed=not reasons,
        returnable_quantity=max(left, 0),
        window_ends=window_ends,
        reasons=reasons,
    )
