"""Status changes are compare-and-set against these tables, and each one is an event."""

from __future__ import annotations

from django.db import transaction

from omni import audit
from omni.auth import SYSTEM, Actor
from omni.errors import Conflict
from orders.models import Fulfilment, Order, OrderEvent

F = Fulfilment.Status
O = Order.Status  # noqa: E741 - mirrors F for readability of the tables below

# to-status → the statuses it may come from.
FULFILMENT_TRANSITIONS: dict[str, set[str]] = {
    F.ALLOCATED: {F.PLACED, F.AWAITING_TRANSFER},
    F.AWAITING_TRANSFER: {F.PLACED},
    F.PICKED: {F.ALLOCATED},
    F.PACKED: {F.PICKED},
    F.SHIPPED: {F.PACKED},
    F.DELIVERED: {F.SHIPPED},
    F.READY_FOR_PICKUP: {F.ALLOCATED, F.PICKED},
    F.COLLECTED: {F.READY_FOR_PICKUP},
    F.EXPIRED: {F.READY_FOR_PICKUP},
    F.CANCELLED: {
        F.PLACED,
        F.ALLOCATED,
        F.AWAITING_TRANSFER,
        F.PICKED,
        F.PACKED,
        F.READY_FOR_PICKUP,
    },
}

ORDER_TRANSITIONS: dict[str, set[str]] = {
    O.ALLOCATED: {O.PLACED},
    O.PARTIALLY_FULFILLED: {O.PLACED, O.ALLOCATED, O.PARTIALLY_FULFILLED},
    O.FULFILLED: {O.PLACED, O.ALLOCATED, O.PARTIALLY_FULFILLED},
    O.CANCELLED: {O.PLACED, O.ALLOCATED},
}


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = "This step is not possible in the current state."


def transition_fulfilment(
    *,
    fulfilment: Fulfilment,
    to: str,
    actor: Actor = SYSTEM,
    data: dict | None = None,
    **fields,
) -> Fulfilment:
    """Move a fulfilment to `to` if its current status allows it; else 409 and nothing
    changes. Extra `fields` are set in the same UPDATE."""
    allowed_from = FULFILMENT_TRANSITIONS[to]
    with transaction.atomic():
        updated = Fulfilment.objects.filter(pk=fulfilment.pk, status__in=allowed_from).update(
            status=to, **fields
        )
        if not updated:
            current = Fulfilment.objects.values_list("status", flat=True).get(pk=fulfilment.pk)
            raise InvalidTransition(
                f"Cannot move from {current} to {to}.",
                current=current,
                requested=to,
                allowed_from=sorted(allowed_from),
            )
        OrderEvent.objects.create(
            order_id=fulfilment.order_id,
            fulfilment=fulfilment,
            kind=f"fulfilment.{to}",
            from_status=fulfilment.status,
            to_status=to,
            data=data or {},
            actor_user=actor.user,
            actor_token=actor.token,
        )
        audit.record(
            f"fulfilment.{to}",
            fulfilment,
            actor=actor,
            before={"status": fulfilment.status},
            after={"status": to, **(data or {})},
            location=fulfilment.location_id,
        )
        _settle_order_status(order_id=fulfilment.order_id, actor=actor)
    fulfilment.refresh_from_db()
    return fulfilment


_DONE = {F.DELIVERED, F.COLLECTED}
_CLOSED = {F.DELIVERED, F.COLLECTED, F.CANCELLED, F.EXPIRED}


def _settle_order_status(*, order_id: int, actor: Actor) -> None:
    """The order's status follows its fulfilments."""
    statuses = set(Fulfilment.objects.filter(order_id=order_id).values_list("status", flat=True))
    if not statuses:
        return
    if statuses <= {F.CANCELLED, F.EXPIRED}:
        target = O.CANCELLED
    elif statuses <= _CLOSED:
        target = O.FULFILLED
    elif statuses & _DONE:
        target = O.PARTIALLY_FULFILLED
    elif statuses <= {
        F.ALLOCATED,
        F.PICKED,
        F.PACKED,
        F.READY_FOR_PICKUP,
        F.SHIPPED,
        F.AWAITING_TRANSFER,
        F.CANCELLED,
    }:
        target = O.ALLOCATED
    else:
        return
    transition_order(order_id=order_id, to=target, actor=actor, quiet=True)


def transition_order(*, order_id: int, to: str, actor: Actor = SYSTEM, quiet: bool = False) -> bool:
    """Compare-and-set an order's status. `quiet`: a refused move is not an error (used
    when the status merely follows its fulfilments)."""
    current, customer_id, location_id = Order.objects.values_list(
        "status", "customer_id", "location_id"
    ).get(pk=order_id)
    if current == to:
        return False
    updated = Order.objects.filter(pk=order_id, status__in=ORDER_TRANSITIONS[to]).update(status=to)
    if not updated:
        if quiet:
            return False
        raise InvalidTransition(
            f"Cannot move the order from {current} to {to}.", current=current, requested=to
        )
    OrderEvent.objects.create(
        order_id=order_id,
        kind=f"order.{to}",
        from_status=current,
        to_status=to,
        actor_user=actor.user,
        actor_token=actor.token,
    )
    audit.record(
        f"order.{to}",
        object_type="orders.order",
        object_id=order_id,
        actor=actor,
        before={"status": current},
        after={"status": to},
        customer=customer_id,
        location=location_id,
    )
    return True
