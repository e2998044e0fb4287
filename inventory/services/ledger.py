"""The one place stock quantities change: a conditional UPDATE plus a ledger row.

Every service in `inventory.services` (receipts, sales, reservations, transfers, counts)
goes through `move_stock`, so on hand always equals the sum of the ledger's deltas. The
UPDATE and the ledger row are one SQL statement (with the reservation row it creates or
closes, for reservations). Its INSERTs name their columns: a new NOT NULL column on
`StockMovement` or `Reservation` needs a database default or a place in `_MOVE_SQL`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import connection

from inventory.models import Location, Reservation, Sku, StockLevel, StockMovement
from omni.auth import SYSTEM, Actor
from omni.errors import Conflict
from omni.rows import prepared_cursor
from omni.webhooks import emit


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    message = "Not enough stock available."


class StaleCount(Conflict):
    code = "stale_count"
    message = "On hand changed since the count was started; count again."


def availability_line(*, location: Location, sku: Sku, requested: int) -> dict:
    """What a 409 tells the caller about one line: what was asked and what there is."""
    level = StockLevel.objects.filter(location=location, sku=sku).first()
    return {
        "sku": sku.code,
        "location": location.code,
        "requested": requested,
        "on_hand": level.on_hand if level else 0,
        "reserved": level.reserved if level else 0,
        "safety_stock": level.safety_stock if level else 0,
        "available": level.available if level else 0,
    }


def ensure_stock_level(*, location: Location, sku: Sku) -> StockLevel:
    """The (location, SKU) row, created empty if this SKU was never stocked here."""
    existing = StockLevel.objects.filter(location=location, sku=sku).first()
    if existing is not None:
        # Read first: an INSERT ... ON CONFLICT would burn a sequence value on every call.
        return existing
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_stocklevel "
            "(location_id, sku_id, on_hand, reserved, safety_stock, reorder_point, damaged,"
            " updated_at) VALUES (%s, %s, 0, 0, 0, 0, 0, now()) "
            "ON CONFLICT (location_id, sku_id) DO NOTHING",
            [location.pk, sku.pk],
        )
    return StockLevel.objects.get(location=location, sku=sku)


def create_missing_stock_levels(*, location: Location, skus: Sequence[Sku]) -> None:
    """Empty (location, SKU) rows for SKUs never stocked here, in one statement; rows that
    exist already are left alone."""
    if not skus:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_stocklevel "
            "(location_id, sku_id, on_hand, reserved, safety_stock, reorder_point, damaged,"
            " updated_at) SELECT %s, sku_id, 0, 0, 0, 0, 0, now()"
            " FROM unnest(%s::bigint[]) AS sku_id"
            " ON CONFLICT (location_id, sku_id) DO NOTHING",
            [location.pk, [sku.pk for sku in skus]],
        )


@dataclass(frozen=True)
class Hold:
    """A reservation row to write in the same statement as the stock change that backs it."""

    owner_type: str
    owner_ref: str
    quantity: int
    expires_at: datetime
    basket: uuid.UUID | None = None


@dataclass(frozen=True)
class Close:
    """End an active reservation in the same statement as the stock change it causes."""

    reservation_id: int
    status: str
    require_unexpired: bool = False


# The conditional UPDATE and its ledger row (and, for a reservation, the reservation row) in
# one statement: one round trip, atomic on its own (no savepoint needed), and if the UPDATE
# matches nothing no other row is written. A hot stock row stays locked only this long.
_MOVE_SQL = """
WITH moved AS (
    UPDATE inventory_stocklevel
       SET on_hand = on_hand + %(delta)s::integer,
           reserved = reserved + %(reserved_delta)s::integer,
           damaged = damaged + %(damaged_delta)s::integer,
           updated_at = now()
     WHERE location_id = %(location)s::bigint AND sku_id = %(sku)s::bigint
       AND on_hand + %(delta)s::integer >= 0
       AND reserved + %(reserved_delta)s::integer >= 0
       AND reserved + %(reserved_delta)s::integer <= on_hand + %(delta)s::integer
       AND damaged + %(damaged_delta)s::integer >= 0
       AND on_hand - reserved - safety_stock >= %(require_available)s::integer
       AND (%(expect_on_hand)s::integer IS NULL OR on_hand = %(expect_on_hand)s::integer)
    RETURNING id, on_hand,
              -- this change took available stock below the reorder point (a "stock low" event)
              reorder_point > 0
              AND on_hand - reserved - safety_stock < reorder_point
              AND on_hand - %(delta)s::integer - reserved + %(reserved_delta)s::integer
                  - safety_stock >= reorder_point AS went_low
), logged AS (
    INSERT INTO inventory_stockmovement
        (stock_level_id, location_id, sku_id, kind, delta, reserved_delta, balance_after,
         reason, reference_type, reference_id, actor_user_id, actor_token_id, created_at)
    SELECT id, %(location)s::bigint, %(sku)s::bigint, %(kind)s::varchar, %(delta)s::integer,
           %(reserved_delta)s::integer, on_hand, %(reason)s::varchar,
           %(reference_type)s::varchar, %(reference_id)s::varchar, %(actor_user)s::integer,
           %(actor_token)s::bigint, clock_timestamp()
      FROM moved
    RETURNING id, stock_level_id, balance_after, created_at
)
"""
_MOVE_RESULT_SQL = """
SELECT id, stock_level_id, balance_after, created_at, NULL, NULL, NULL,
       (SELECT went_low FROM moved) FROM logged
"""
# The reservation's compare-and-set waits for `moved` (EXISTS), so the stock row is locked
# before the reservation row, the lock order every service keeps.
_CLOSE_SQL = """, closed AS (
    UPDATE inventory_reservation
       SET status = %(close_status)s::varchar, closed_at = clock_timestamp()
     WHERE id = %(close_id)s::bigint AND status = 'active'
       AND (NOT %(close_unexpired)s::boolean OR expires_at > now())
       AND EXISTS (SELECT 1 FROM moved)
    RETURNING closed_at
)
SELECT logged.id, logged.stock_level_id, logged.balance_after, logged.created_at, NULL, NULL,
       (SELECT closed_at FROM closed), (SELECT went_low FROM moved)
  FROM logged
"""
_HOLD_SQL = """, held AS (
    INSERT INTO inventory_reservation
        (owner_type, owner_ref, basket, location_id, sku_id, quantity, status, expires_at,
         needs_resourcing, actor_user_id, actor_token_id, created_at)
    SELECT %(owner_type)s::varchar, %(owner_ref)s::varchar, %(basket)s::uuid,
           %(location)s::bigint, %(sku)s::bigint, %(hold_quantity)s::integer, 'active',
           %(expires_at)s::timestamptz, false, %(actor_user)s::integer, %(actor_token)s::bigint,
           clock_timestamp()
      FROM moved
    RETURNING id, created_at
)
SELECT logged.id, logged.stock_level_id, logged.balance_after, logged.created_at,
       held.id, held.created_at, NULL, (SELECT went_low FROM moved)
  FROM logged, held
"""


def move_stock(
    *,
    location: Location,
    sku: Sku,
    kind: str,
    delta: int = 0,
    reserved_delta: int = 0,
    damaged_delta: int = 0,
    require_available: int = 0,
    expect_on_hand: int | None = None,
    reason: str = "",
    reference_type: str = "",
    reference_id: str = "",
    actor: Actor = SYSTEM,
    hold: Hold | None = None,
    close: Close | None = None,
) -> StockMovement:
    """Apply one change to a stock level and write its ledger row, in one statement.

    The UPDATE only matches if the result keeps every rule (nothing negative, reserved ≤ on
    hand) and, when `require_available` is set, if that many units were available before
    it. With `expect_on_hand` it also only matches if on hand is exactly that (a count taken
    against a quantity that has since changed → `StaleCount`). No match → `InsufficientStock`
    with the current availability per line in `details["lines"]`; nothing is written.
    """
    params = {
        "delta": delta,
        "reserved_delta": reserved_delta,
        "damaged_delta": damaged_delta,
        "require_available": require_available,
        "expect_on_hand": expect_on_hand,
        "location": location.pk,
        "sku": sku.pk,
        "kind": kind,
        "reason": reason,
        "reference_type": reference_type,
        "reference_id": str(reference_id),
        "actor_user": actor.user.pk if actor.user is not None else None,
        "actor_token": actor.token.pk if actor.token is not None else None,
    }
    sql = _MOVE_SQL + _MOVE_RESULT_SQL
    if hold is not None:
        sql = _MOVE_SQL + _HOLD_SQL
        params.update(
            owner_type=hold.owner_type,
            owner_ref=hold.owner_ref,
            basket=hold.basket,
            hold_quantity=hold.quantity,
            expires_at=hold.expires_at,
        )
    if close is not None:
        sql = _MOVE_SQL + _CLOSE_SQL
        params.update(
            close_id=close.reservation_id,
            close_status=close.status,
            close_unexpired=close.require_unexpired,
        )
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        line = availability_line(
            location=location,
            sku=sku,
            requested=max(-delta, reserved_delta, require_available),
        )
        if expect_on_hand is not None and line["on_hand"] != expect_on_hand:
            raise StaleCount(expected=expect_on_hand, on_hand=line["on_hand"], lines=[line])
        # The flat keys predate `lines` and stay for callers that read them.
        raise InsufficientStock(
            sku=line["sku"],
            location=line["location"],
            requested=line["requested"],
            on_hand=line["on_hand"],
            reserved=line["reserved"],
            available=line["available"],
            lines=[line],
        )
    movement_id, stock_level_id, balance_after, created_at, hold_id, held_at, closed_at, low = row
    if low:
        emit("stock.low", partial(stock_low_data, stock_level_id))
    movement = StockMovement(
        id=movement_id,
        stock_level_id=stock_level_id,
        location=location,
        sku=sku,
        kind=kind,
        delta=delta,
        reserved_delta=reserved_delta,
        balance_after=balance_after,
        reason=reason,
        reference_type=reference_type,
        reference_id=str(reference_id),
        actor_user=actor.user,
        actor_token=actor.token,
        created_at=created_at,
    )
    _loaded(movement)
    movement.closed_at = closed_at
    if hold is not None:
        movement.hold = _loaded(
            Reservation(
                id=hold_id,
                owner_type=hold.owner_type,
                owner_ref=hold.owner_ref,
                basket=hold.basket,
                location=location,
                sku=sku,
                quantity=hold.quantity,
                status=Reservation.Status.ACTIVE,
                expires_at=hold.expires_at,
                needs_resourcing=False,
                actor_user=actor.user,
                actor_token=actor.token,
                created_at=held_at,
            )
        )
    return movement


def stock_low_data(stock_level_id: int) -> dict:
    level = StockLevel.objects.select_related("location", "sku").get(pk=stock_level_id)
    return {
        "location": level.location.code,
        "sku": level.sku.code,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "safety_stock": level.safety_stock,
        "available": max(level.on_hand - level.reserved - level.safety_stock, 0),
        "reorder_point": level.reorder_point,
    }


def _loaded(instance):
    """Mark an instance built from a RETURNING row as saved, like one the ORM loaded."""
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance
