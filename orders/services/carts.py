"""Carts belong to the customer, not the device: the same cart on web and app."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from inventory.models import Location, Reservation, Sku
from inventory.services.reservations import (
    ReservationNotActive,
    release_reservation,
    reserve_stock,
)
from omni.errors import BadRequest, NotFound, RuleBroken
from orders.models import Cart, CartLine
from orders.signals import announce, cart_changed

MAX_LINE_QUANTITY = 99
# How long units stay held for a cart line when the shop asks for a hold.
CART_HOLD = timedelta(minutes=15)


class CartNotFound(NotFound):
    code = "cart_not_found"
    message = "No open cart."


class InvalidQuantity(BadRequest):
    code = "invalid_quantity"
    message = f"Quantity must be a whole number from 1 to {MAX_LINE_QUANTITY}."


class SkuNotSellable(RuleBroken):
    code = "sku_not_sellable"
    message = "This product is not for sale."


def open_cart(*, channel: str, customer=None, device_id: str = "", currency: str = "EUR") -> Cart:
    """The customer's open cart (or the anonymous device's), created on first use.
    Safe under concurrency: the partial unique constraints allow one open cart each."""
    if customer is None and not device_id:
        raise BadRequest("A cart needs a customer or a device id.", field="device_id")
    lookup = (
        {"customer": customer}
        if customer is not None
        else {"customer": None, "device_id": device_id}
    )
    existing = Cart.objects.filter(status=Cart.Status.OPEN, **lookup).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Cart.objects.create(
                channel=channel,
                currency=currency,
                last_activity_at=timezone.now(),
                **{"device_id": device_id, **lookup},
            )
    except IntegrityError:
        return Cart.objects.get(status=Cart.Status.OPEN, **lookup)


def _touch(cart: Cart, channel: str | None = None) -> None:
    fields = {"last_activity_at": timezone.now()}
    if channel:
        fields["channel"] = channel
    Cart.objects.filter(pk=cart.pk).update(**fields)


def release_cart_holds(*, cart: Cart, lines=None) -> None:
    """Give back the stock held for the cart's lines (all, or the given ones). A hold
    that already expired has nothing left to give back."""
    lines = list(lines if lines is not None else cart.lines.exclude(reservation_id=None))
    ids = [line.reservation_id for line in lines if line.reservation_id]
    for reservation in Reservation.objects.filter(pk__in=ids).select_related("location", "sku"):
        try:
            release_reservation(reservation=reservation, reason="Cart hold released")
        except ReservationNotActive:
            continue
    CartLine.objects.filter(pk__in=[line.pk for line in lines if line.pk]).update(
        reservation_id=None
    )


def set_cart_line(
    *,
    cart: Cart,
    sku: Sku,
    quantity: int,
    channel: str | None = None,
    hold_at: Location | None = None,
) -> Cart:
    """Put `quantity` of a SKU in the cart (0 removes it). The price is snapshotted when
    the line is first added. With `hold_at`, the units are also held at that location for
    a short while (`CART_HOLD`), all or nothing: no stock, no change (409)."""
    if not isinstance(quantity, int) or not 0 <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidQuantity(quantity=quantity)
    if cart.status != Cart.Status.OPEN:
        raise CartNotFound(cart=str(cart.public_id))
    if quantity and not (sku.is_active and sku.product.is_active):
        raise SkuNotSellable(sku=sku.code)
    with transaction.atomic():
        existing = CartLine.objects.filter(cart=cart, sku=sku).first()
        if existing is not None and existing.reservation_id:
            release_cart_holds(cart=cart, lines=[existing])
        if quantity == 0:
            CartLine.objects.filter(cart=cart, sku=sku).delete()
        else:
            line, _ = CartLine.objects.update_or_create(
                cart=cart,
                sku=sku,
                defaults={"quantity": quantity},
                create_defaults={
                    "quantity": quantity,
                    "unit_price": sku.price,
                    "currency": sku.currency,
                },
            )
            if hold_at is not None:
                hold = reserve_stock(
                    location=hold_at,
                    sku=sku,
                    quantity=quantity,
                    owner_type=Reservation.OwnerType.CART,
                    owner_ref=str(cart.public_id),
                    ttl=CART_HOLD,
                )
                CartLine.objects.filter(pk=line.pk).update(reservation_id=hold.pk)
        _touch(cart, channel)
        announce(cart_changed, cart=cart)
    return cart


def empty_cart(*, cart: Cart) -> Cart:
    with transaction.atomic():
        release_cart_holds(cart=cart)
        CartLine.objects.filter(cart=cart).delete()
        Cart.objects.filter(pk=cart.pk, status=Cart.Status.OPEN).update(
            status=Cart.Status.EMPTIED, last_activity_at=timezone.now()
        )
        announce(cart_changed, cart=cart)
    cart.refresh_from_db()
    return cart


def merge_device_cart(*, device_id: str, customer, channel: str) -> Cart:
    """On sign-in, the anonymous device's cart joins the customer's cart: quantities add
    up (capped), the customer's price snapshot is kept for lines already there."""
    with transaction.atomic():
        target = open_cart(channel=channel, customer=customer)
        source = (
            Cart.objects.select_for_update()
            .filter(status=Cart.Status.OPEN, customer=None, device_id=device_id)
            .first()
        )
        if source is None:
            return target
        for line in source.lines.all():
            updated = CartLine.objects.filter(cart=target, sku_id=line.sku_id).update(
                quantity=Least(F("quantity") + line.quantity, MAX_LINE_QUANTITY)
            )
            if not updated:
                CartLine.objects.create(
                    cart=target,
                    sku_id=line.sku_id,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    currency=line.currency,
                    reservation_id=line.reservation_id,
                )
        CartLine.objects.filter(cart=source).delete()
        Cart.objects.filter(pk=source.pk).update(status=Cart.Status.MERGED)
        _touch(target, channel)
    return target
