"""Reservations: units held for a cart, an order or a pickup, and what ends them.

Rules kept here:
- A reservation fits in available stock (on hand − reserved − safety stock) or is refused
  with 409 `insufficient_stock` and the availability per line; nothing is written.
- A basket of lines is all-or-nothing. Its stock rows are locked in primary-key order, so two
  baskets that share rows wait for each other instead of deadlocking.
- Lock order everywhere is stock level first, reservation second: release, commit and
  expiry change the stock row and compare-and-set the reservation's status in one statement
  whose status update waits for the stock update, and roll the stock change back if the
  status had already moved (or the reservation lapsed, for a commit).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from inventory.models import Location, Reservation, Sku, StockLevel, StockMovement
from inventory.services.ledger import (
    SYSTEM,
    Actor,
    Close,
    Hold,
    InsufficientStock,
    availability_line,
    move_stock,
)
from inventory.services.stock import InvalidQuantity, require_positive
from omni.errors import BadRequest, Conflict
from omni.rows import select_rows

Kind = StockMovement.Kind
Status = Reservation.Status

DEFAULT_TTL = timedelta(minutes=15)
MAX_TTL = timedelta(days=30)


class ReservationNotActive(Conflict):
    code = "reservation_not_active"
    message = "This reservation is no longer active."


class ReservationExpired(Conflict):
    code = "reservation_expired"
    message = "This reservation has expired; reserve again."


class InvalidExpiry(BadRequest):
    code = "invalid_expiry"
    message = "A reservation expires in the future, within 30 days."


@dataclass(frozen=True)
class BasketLine:
    location: Location
    sku: Sku
    quantity: int


def _expiry(ttl: timedelta | None, expires_at: datetime | None) -> datetime:
    now = timezone.now()
    if expires_at is None:
        expires_at = now + (ttl if ttl is not None else DEFAULT_TTL)
    if not now < expires_at <= now + MAX_TTL:
        raise InvalidExpiry(expires_at=expires_at.isoformat())
    return expires_at


def _owner(owner_type: str, owner_ref: str) -> tuple[str, str]:
    if owner_type not in Reservation.OwnerType.values:
        raise BadRequest(
            "Unknown owner type.", owner_type=owner_type, known=Reservation.OwnerType.values
        )
    owner_ref = str(owner_ref or "").strip()
    if not owner_ref or len(owner_ref) > 64:
        raise BadRequest("A reservation needs its owner's reference (1-64 characters).")
    return owner_type, owner_ref


def reserve_stock(
    *,
    location: Location,
    sku: Sku,
    quantity: int,
    owner_type: str,
    owner_ref: str,
    ttl: timedelta | None = None,
    expires_at: datetime | None = None,
    actor: Actor = SYSTEM,
) -> Reservation:
    """Hold `quantity` units at one location, or refuse with 409 if they are not available.

    One line needs no explicit lock or transaction: the conditional UPDATE, its ledger row
    and the reservation row are one statement, so the row lock lasts only that statement.
    """
    require_positive(quantity)
    owner_type, owner_ref = _owner(owner_type, owner_ref)
    expires_at = _expiry(ttl, expires_at)
    movement = move_stock(
        location=location,
        sku=sku,
        kind=Kind.RESERVATION,
        reserved_delta=quantity,
        require_available=quantity,
        reference_type=owner_type,
        reference_id=owner_ref,
        actor=actor,
        hold=Hold(owner_type, owner_ref, quantity, expires_at),
    )
    return movement.hold


def lock_stock_levels(places: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock rows of these (location id, SKU id) pairs in primary-key order.

    Every service that changes several rows in one transaction locks them here first, so
    any two such transactions take their locks in the same order and cannot deadlock.
    Pairs without a stock row are simply absent from the result.
    """
    places = sorted(set(places))
    if not places:
        return {}
    # Plain SQL: compiling the ORM's OR of pairs cost more than the statement itself.
    levels = select_rows(
        StockLevel,
        "(location_id, sku_id) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))"
        " ORDER BY id FOR UPDATE",
        [[location for location, _ in places], [sku for _, sku in places]],
    )
    return {(level.location_id, level.sku_id): level for level in levels}


def _merge_lines(lines: Sequence[BasketLine]) -> list[BasketLine]:
    """One line per place: two lines for the same SKU and store must fit together."""
    merged: dict[tuple[int, int], BasketLine] = {}
    for index, line in enumerate(lines):
        require_positive(line.quantity, field=f"lines[{index}].quantity")
        key = (line.location.pk, line.sku.pk)
        if key in merged:
            line = BasketLine(line.location, line.sku, merged[key].quantity + line.quantity)
        merged[key] = line
    return list(merged.values())


def reserve_basket(
    *,
    lines: Sequence[BasketLine],
    owner_type: str,
    owner_ref: str,
    ttl: timedelta | None = None,
    expires_at: datetime | None = None,
    actor: Actor = SYSTEM,
) -> list[Reservation]:
    """Reserve every line or none. A refusal (409 `insufficient_stock`) lists every line
    with what was asked and what is available, so the caller can fix the whole basket."""
    if not lines:
        raise InvalidQuantity("A basket needs at least one line.", field="lines")
    owner_type, owner_ref = _owner(owner_type, owner_ref)
    expires_at = _expiry(ttl, expires_at)
    merged = _merge_lines(lines)
    basket = uuid.uuid4()
    with transaction.atomic():
        levels = lock_stock_levels((line.location.pk, line.sku.pk) for line in merged)
        # The rows are locked, so what we read is what the UPDATEs below will see.
        short = [
            line
            for line in merged
            if (level := levels.get((line.location.pk, line.sku.pk))) is None
            or level.available < line.quantity
        ]
        if short:
            raise InsufficientStock(
                "Not enough stock for every line of the basket.",
                lines=[
                    availability_line(location=line.location, sku=line.sku, requested=line.quantity)
                    for line in merged
                ],
                short=[line.sku.code for line in short],
            )
        in_lock_order = sorted(merged, key=lambda line: levels[line.location.pk, line.sku.pk].pk)
        made = [
            move_stock(
                location=line.location,
                sku=line.sku,
                kind=Kind.RESERVATION,
                reserved_delta=line.quantity,
                require_available=line.quantity,
                reference_type=owner_type,
                reference_id=owner_ref,
                actor=actor,
                hold=Hold(owner_type, owner_ref, line.quantity, expires_at, basket=basket),
            ).hold
            for line in in_lock_order
        ]
        return made


def _close(
    reservation: Reservation,
    *,
    to: str,
    now: datetime,
    not_expired: bool = False,
    needs_resourcing: bool = False,
) -> None:
    """Compare-and-set active → `to`; raise (rolling back the caller's stock change) if the
    reservation had already left `active`."""
    match = Reservation.objects.filter(pk=reservation.pk, status=Status.ACTIVE)
    if not_expired:
        match = match.filter(expires_at__gt=now)
    changed = match.update(status=to, closed_at=now, needs_resourcing=needs_resourcing)
    if not changed:
        current = Reservation.objects.filter(pk=reservation.pk).values("status", "expires_at")
        current = current.first() or {}
        if current.get("status") == Status.ACTIVE:
            raise ReservationExpired(reservation=reservation.pk)
        raise ReservationNotActive(reservation=reservation.pk, status=current.get("status"))
    reservation.status = to
    reservation.closed_at = now
    reservation.needs_resourcing = needs_resourcing


def _give_back(reservation: Reservation, **move) -> StockMovement:
    """Run the stock side of ending a reservation. If the stock row refuses, the
    reservation was most likely closed already (its units given back): say so."""
    try:
        return move_stock(location=reservation.location, sku=reservation.sku, **move)
    except InsufficientStock:
        current = Reservation.objects.filter(pk=reservation.pk).values_list("status", flat=True)
        current_status = current.first()
        if current_status != Status.ACTIVE:
            raise ReservationNotActive(reservation=reservation.pk, status=current_status) from None
        raise


def _ended(reservation: Reservation, movement: StockMovement, *, to: str) -> Reservation:
    """After a `move_stock(close=...)`: refuse (rolling back) if the reservation had
    already left `active` or lapsed, else reflect the new status on the instance."""
    if movement.closed_at is None:
        current = Reservation.objects.filter(pk=reservation.pk).values_list("status", flat=True)
        current_status = current.first()
        if current_status == Status.ACTIVE:
            raise ReservationExpired(reservation=reservation.pk)
        raise ReservationNotActive(reservation=reservation.pk, status=current_status)
    reservation.status = to
    reservation.closed_at = movement.closed_at
    return reservation


def release_reservation(
    *, reservation: Reservation, reason: str = "", actor: Actor = SYSTEM
) -> Reservation:
    """Give the units back to available stock; 409 if it was not active any more."""
    with transaction.atomic():
        movement = _give_back(
            reservation,
            kind=Kind.RELEASE,
            reserved_delta=-reservation.quantity,
            reason=reason,
            reference_type=reservation.owner_type,
            reference_id=reservation.owner_ref,
            actor=actor,
            close=Close(reservation.pk, Status.RELEASED),
        )
        return _ended(reservation, movement, to=Status.RELEASED)


def commit_reservation(
    *,
    reservation: Reservation,
    reference_type: str = "order",
    reference_id: str = "",
    actor: Actor = SYSTEM,
) -> Reservation:
    """Turn held units into a sale: on hand and reserved drop together in one conditional
    UPDATE. An expired (even if not yet swept) or closed reservation is refused with 409."""
    with transaction.atomic():
        movement = _give_back(
            reservation,
            kind=Kind.SALE,
            delta=-reservation.quantity,
            reserved_delta=-reservation.quantity,
            reference_type=reference_type,
            reference_id=reference_id or reservation.owner_ref,
            actor=actor,
            close=Close(reservation.pk, Status.COMMITTED, require_unexpired=True),
        )
        return _ended(reservation, movement, to=Status.COMMITTED)


def _active_of_owner_locked(owner_type: str, owner_ref: str) -> list[Reservation]:
    """The owner's active reservations, their stock rows locked in primary-key order, in
    that same order (each commit or release below then re-takes a lock it already holds)."""
    held = list(
        Reservation.objects.filter(
            owner_type=owner_type, owner_ref=owner_ref, status=Status.ACTIVE
        ).select_related("location", "sku")
    )
    levels = lock_stock_levels((r.location_id, r.sku_id) for r in held)
    return sorted(held, key=lambda r: levels[r.location_id, r.sku_id].pk)


def release_owner_reservations(
    *, owner_type: str, owner_ref: str, reason: str = "", actor: Actor = SYSTEM
) -> list[Reservation]:
    """Release everything a cart, order or pickup still holds (abandoned, cancelled,
    expired pickup). Reservations that ended meanwhile are skipped, so it is safe to run
    twice."""
    released = []
    with transaction.atomic():
        for reservation in _active_of_owner_locked(owner_type, owner_ref):
            try:
                released.append(
                    release_reservation(reservation=reservation, reason=reason, actor=actor)
                )
            except ReservationNotActive:
                continue
    return released


def commit_owner_reservations(
    *,
    owner_type: str,
    owner_ref: str,
    reference_type: str = "order",
    reference_id: str = "",
    actor: Actor = SYSTEM,
) -> list[Reservation]:
    """Turn everything an order holds into sales, all or nothing: if any of its
    reservations lapsed, nothing is committed (409) and the caller re-reserves."""
    with transaction.atomic():
        return [
            commit_reservation(
                reservation=reservation,
                reference_type=reference_type,
                reference_id=reference_id or owner_ref,
                actor=actor,
            )
            for reservation in _active_of_owner_locked(owner_type, owner_ref)
        ]


class _AlreadyClosed(Exception):
    """Another process closed the reservation first; roll back and move on."""


def expire_reservations(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Release every active reservation whose time is up; returns how many it expired.

    Safe to run twice or in parallel: each reservation is expired in its own transaction by
    compare-and-set, so one that was committed, released or expired meanwhile is skipped.
    """
    now = now or timezone.now()
    expired = 0
    while True:
        due = list(
            Reservation.objects.filter(status=Status.ACTIVE, expires_at__lte=now)
            .select_related("location", "sku")
            .order_by("expires_at", "pk")[:batch_size]
        )
        for reservation in due:
            try:
                with transaction.atomic():
                    movement = move_stock(
                        location=reservation.location,
                        sku=reservation.sku,
                        kind=Kind.RELEASE,
                        reserved_delta=-reservation.quantity,
                        reason="Reservation expired",
                        reference_type=reservation.owner_type,
                        reference_id=reservation.owner_ref,
                        close=Close(reservation.pk, Status.EXPIRED),
                    )
                    if movement.closed_at is None:
                        raise _AlreadyClosed
            except (_AlreadyClosed, InsufficientStock):
                # Committed, released or expired by someone else since we read it.
                continue
            expired += 1
        if len(due) < batch_size:
            return expired


def release_unmeetable_reservations(
    *, level: StockLevel, on_hand_after: int, reason: str, actor: Actor = SYSTEM
) -> list[Reservation]:
    """Stock is about to drop to `on_hand_after` whatever we think (a POS sale, a count).
    Release the newest active reservations at that place until reserved fits again, and flag
    them `needs_resourcing` so their owners source the units elsewhere.

    The caller holds the lock on `level` (locked before any reservation, as everywhere).
    """
    excess = level.reserved - max(on_hand_after, 0)
    if excess <= 0:
        return []
    now = timezone.now()
    flagged = []
    candidates = (
        Reservation.objects.filter(
            location_id=level.location_id, sku_id=level.sku_id, status=Status.ACTIVE
        )
        .select_related("location", "sku")
        .order_by("-created_at", "-pk")
    )
    for reservation in candidates:
        if excess <= 0:
            break
        move_stock(
            location=reservation.location,
            sku=reservation.sku,
            kind=Kind.RELEASE,
            reserved_delta=-reservation.quantity,
            reason=reason,
            reference_type=reservation.owner_type,
            reference_id=reservation.owner_ref,
            actor=actor,
        )
        _close(reservation, to=Status.RELEASED, now=now, needs_resourcing=True)
        excess -= reservation.quantity
        flagged.append(reservation)
    return flagged
