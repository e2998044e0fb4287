"""Getting an order to the customer: pickups (click-and-collect and curbside), shipping
and cancellation. Every step is a compare-and-set transition with its event; stock held
for the order is committed as a sale when the goods leave (collected or shipped) and
released when they will not (expired or cancelled)."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from inventory.models import Reservation, Transfer
from inventory.services.reservations import BasketLine as ReserveLine
from inventory.services.reservations import (
    ReservationNotActive,
    commit_reservation,
    release_reservation,
    reserve_basket,
)
from inventory.services.transfers import pick_transfer, receive_transfer, ship_transfer
from omni.auth import SYSTEM, Actor
from omni.errors import BadRequest, RuleBroken
from omni.webhooks import emit
from orders.models import Fulfilment, Order
from orders.services.customer_feed import feed_cancellation
from orders.services.notifications import notify_customer
from orders.services.transitions import InvalidTransition, transition_fulfilment
from orders.signals import announce, fulfilment_completed
from orders.webhooks import pickup_data

S = Fulfilment.Status
M = Fulfilment.Method
PICKUP_METHODS = {M.CLICK_AND_COLLECT, M.CURBSIDE}
REMINDER_BEFORE_DEADLINE = timedelta(hours=24)


class WrongPickupCode(RuleBroken):
    code = "wrong_pickup_code"
    message = "That pickup code does not match this order."


class NotAPickup(RuleBroken):
    code = "not_a_pickup"
    message = "This part of the order is not collected in store."


class NotShipped(RuleBroken):
    code = "not_a_shipment"
    message = "This part of the order is not shipped."


def _reservations(fulfilment: Fulfilment, *, locked: bool = False):
    ids = list(
        fulfilment.lines.exclude(reservation_id=None).values_list("reservation_id", flat=True)
    )
    reservations = Reservation.objects.filter(pk__in=ids).select_related("location", "sku")
    return reservations.order_by("pk")


def _commit_stock(fulfilment: Fulfilment, actor: Actor) -> None:
    for reservation in _reservations(fulfilment):
        if reservation.status == Reservation.Status.ACTIVE:
            commit_reservation(
                reservation=reservation,
                reference_type="order",
                reference_id=fulfilment.order.number,
                actor=actor,
            )


def _release_stock(fulfilment: Fulfilment, reason: str, actor: Actor) -> None:
    for reservation in _reservations(fulfilment):
        try:
            release_reservation(reservation=reservation, reason=reason, actor=actor)
        except ReservationNotActive:
            continue  # already expired or released: nothing left to give back


def _notify_after_commit(fulfilment: Fulfilment, template: str, key: str, **context) -> None:
    transaction.on_commit(
        partial(
            _send_notification,
            order_id=fulfilment.order_id,
            template=template,
            key=key,
            context=context,
        )
    )


def _send_notification(*, order_id: int, template: str, key: str, context: dict) -> None:
    notify_customer(
        order=Order.objects.get(pk=order_id), template=template, key=key, context=context
    )


def _require_pickup(fulfilment: Fulfilment) -> None:
    if fulfilment.method not in PICKUP_METHODS:
        raise NotAPickup(method=fulfilment.method)


def mark_ready_for_pickup(*, fulfilment: Fulfilment, actor: Actor = SYSTEM) -> Fulfilment:
    """The units are on the pickup shelf: give the customer a code and a deadline
    (the store's hold days) and tell them."""
    _require_pickup(fulfilment)
    now = timezone.now()
    with transaction.atomic():
        fulfilment = transition_fulfilment(
            fulfilment=fulfilment,
            to=S.READY_FOR_PICKUP,
            actor=actor,
            pickup_code=f"{secrets.randbelow(10**6):06d}",
            ready_at=now,
            pickup_deadline=now + timedelta(days=fulfilment.location.pickup_hold_days),
        )
        emit("order.ready_for_pickup", partial(pickup_data, fulfilment))
        _notify_after_commit(
            fulfilment,
            "ready_for_pickup",
            f"ready:{fulfilment.pk}",
            store=fulfilment.location.name,
            code=fulfilment.pickup_code,
            deadline=fulfilment.pickup_deadline.isoformat(),
        )
    return fulfilment


def check_in_curbside(*, fulfilment: Fulfilment, note: str = "") -> Fulfilment:
    """'I'm here': the customer waits outside; the store sees it in the queue."""
    if fulfilment.method != M.CURBSIDE:
        raise NotAPickup("Only curbside pickups check in from the car.", method=fulfilment.method)
    updated = Fulfilment.objects.filter(pk=fulfilment.pk, status=S.READY_FOR_PICKUP).update(
        arrived_at=timezone.now(), arrival_note=note[:200]
    )
    if not updated:
        raise InvalidTransition("The order is not ready for pickup yet.", current=fulfilment.status)
    fulfilment.refresh_from_db()
    return fulfilment


def collect_pickup(*, fulfilment: Fulfilment, code: str, actor: Actor = SYSTEM) -> Fulfilment:
    """Hand the order over against its pickup code; the held units become a sale."""
    _require_pickup(fulfilment)
    if fulfilment.status != S.READY_FOR_PICKUP:
        raise InvalidTransition("The order is not ready for pickup.", current=fulfilment.status)
    if not hmac.compare_digest(str(code or "").strip(), fulfilment.pickup_code):
        raise WrongPickupCode()
    with transaction.atomic():
        fulfilment = transition_fulfilment(
            fulfilment=fulfilment, to=S.COLLECTED, actor=actor, collected_at=timezone.now()
        )
        emit("order.collected", partial(pickup_data, fulfilment))
        _commit_stock(fulfilment, actor)
        announce(fulfilment_completed, fulfilment=fulfilment)
    return fulfilment


def expire_overdue_pickups(*, now: datetime | None = None) -> int:
    """Pickups past their deadline: release the stock, tell the customer. Safe to rerun:
    each one is a compare-and-set, so a pickup collected meanwhile is left alone."""
    now = now or timezone.now()
    expired = 0
    overdue = Fulfilment.objects.filter(status=S.READY_FOR_PICKUP, pickup_deadline__lt=now)
    for fulfilment in overdue.select_related("order", "location"):
        try:
            with transaction.atomic():
                fulfilment = transition_fulfilment(fulfilment=fulfilment, to=S.EXPIRED)
                _release_stock(fulfilment, "Pickup not collected in time", SYSTEM)
                emit("order.pickup_expired", partial(pickup_data, fulfilment))
                _notify_after_commit(
                    fulfilment,
                    "pickup_expired",
                    f"expired:{fulfilment.pk}",
                    store=fulfilment.location.name,
                )
        except InvalidTransition:
            continue
        expired += 1
    return expired


def send_pickup_reminders(*, now: datetime | None = None) -> int:
    """One reminder per pickup, a day before its deadline."""
    now = now or timezone.now()
    due = Fulfilment.objects.filter(
        status=S.READY_FOR_PICKUP,
        reminder_sent_at__isnull=True,
        pickup_deadline__lte=now + REMINDER_BEFORE_DEADLINE,
        pickup_deadline__gt=now,
    ).select_related("location")
    sent = 0
    for fulfilment in due:
        with transaction.atomic():
            claimed = Fulfilment.objects.filter(
                pk=fulfilment.pk, reminder_sent_at__isnull=True
            ).update(reminder_sent_at=now)
            if claimed:
                _notify_after_commit(
                    fulfilment,
                    "pickup_reminder",
                    f"reminder:{fulfilment.pk}",
                    store=fulfilment.location.name,
                    deadline=fulfilment.pickup_deadline.isoformat(),
                )
                sent += 1
    return sent


def pick_fulfilment(*, fulfilment: Fulfilment, actor: Actor = SYSTEM) -> Fulfilment:
    return transition_fulfilment(fulfilment=fulfilment, to=S.PICKED, actor=actor)


def pack_fulfilment(*, fulfilment: Fulfilment, actor: Actor = SYSTEM) -> Fulfilment:
    if fulfilment.method not in {M.SHIP, M.SHIP_FROM_STORE}:
        raise NotShipped(method=fulfilment.method)
    return transition_fulfilment(fulfilment=fulfilment, to=S.PACKED, actor=actor)


def ship_fulfilment(
    *, fulfilment: Fulfilment, carrier: str, tracking_number: str, actor: Actor = SYSTEM
) -> Fulfilment:
    """The parcel left: the held units become a sale."""
    if fulfilment.method not in {M.SHIP, M.SHIP_FROM_STORE}:
        raise NotShipped(method=fulfilment.method)
    if not carrier.strip() or not tracking_number.strip():
        raise BadRequest("A shipment needs a carrier and a tracking number.")
    with transaction.atomic():
        fulfilment = transition_fulfilment(
            fulfilment=fulfilment,
            to=S.SHIPPED,
            actor=actor,
            carrier=carrier.strip(),
            tracking_number=tracking_number.strip(),
            shipped_at=timezone.now(),
        )
        _commit_stock(fulfilment, actor)
        _notify_after_commit(
            fulfilment,
            "shipped",
            f"shipped:{fulfilment.pk}",
            carrier=carrier,
            tracking_number=tracking_number,
        )
    return fulfilment


def deliver_fulfilment(*, fulfilment: Fulfilment, actor: Actor = SYSTEM) -> Fulfilment:
    with transaction.atomic():
        fulfilment = transition_fulfilment(
            fulfilment=fulfilment, to=S.DELIVERED, actor=actor, delivered_at=timezone.now()
        )
        announce(fulfilment_completed, fulfilment=fulfilment)
    return fulfilment


def cancel_order(*, order: Order, reason: str, actor: Actor = SYSTEM) -> Order:
    """Cancel every part not yet shipped or collected, releasing its stock. A part that
    has left already makes the whole cancellation refuse (409): nothing changes."""
    if not reason.strip():
        raise BadRequest("Say why the order is cancelled.", field="reason")
    with transaction.atomic():
        for fulfilment in order.fulfilments.select_for_update().order_by("pk"):
            if fulfilment.status == S.CANCELLED:
                continue
            transition_fulfilment(
                fulfilment=fulfilment, to=S.CANCELLED, actor=actor, data={"reason": reason}
            )
            _release_stock(fulfilment, reason, actor)
        order.refresh_from_db()
        if order.status == Order.Status.CANCELLED:
            feed_cancellation(order)
    return order


def ship_pickup_transfer(*, fulfilment: Fulfilment, actor: Actor = SYSTEM) -> Transfer:
    """Send the units a pickup store lacks: the order's hold at the source ends and the
    units leave the source in the transfer, in one transaction."""
    transfer = fulfilment.transfer
    if transfer is None:
        raise BadRequest("This pickup does not wait for a transfer.")
    with transaction.atomic():
        if transfer.status == Transfer.Status.REQUESTED:
            transfer = pick_transfer(transfer=transfer, actor=actor)
        _release_stock(fulfilment, f"Shipped to {fulfilment.location.code} by transfer", actor)
        return ship_transfer(transfer=transfer, actor=actor)


def receive_pickup_transfer(*, fulfilment: Fulfilment, actor: Actor = SYSTEM) -> Fulfilment:
    """The transfer arrived at the pickup store: hold its units there for the order."""
    transfer = fulfilment.transfer
    if transfer is None:
        raise BadRequest("This pickup does not wait for a transfer.")
    with transaction.atomic():
        receive_transfer(transfer=transfer, actor=actor)
        lines = list(fulfilment.lines.select_related("sku"))
        reservations = reserve_basket(
            lines=[
                ReserveLine(location=fulfilment.location, sku=line.sku, quantity=line.quantity)
                for line in lines
            ],
            owner_type=Reservation.OwnerType.PICKUP,
            owner_ref=fulfilment.order.number,
            ttl=timedelta(days=30),
            actor=actor,
        )
        by_sku = {reservation.sku_id: reservation.pk for reservation in reservations}
        for line in lines:
            line.reservation_id = by_sku[line.sku_id]
        type(lines[0]).objects.bulk_update(lines, ["reservation_id"])
        return transition_fulfilment(fulfilment=fulfilment, to=S.ALLOCATED, actor=actor)
