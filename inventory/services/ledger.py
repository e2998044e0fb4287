"""The one place stock quantities change: a conditional UPDATE plus a ledger row.

Every service in `inventory.services` (receipts, sales, reservations, transfers, counts)
goes through `move_stock`, so on hand always equals the sum of the ledger's deltas.
"""

from __future__ import annotations

from django.db import connection, transaction

from inventory.models import Location, Sku, StockLevel, StockMovement
from omni.auth import SYSTEM, Actor
from omni.errors import Conflict


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    message = "Not enough stock available."


def ensure_stock_level(*, location: Location, sku: Sku) -> StockLevel:
    """The (location, SKU) row, created empty if this SKU was never stocked here."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_stocklevel "
            "(location_id, sku_id, on_hand, reserved, safety_stock, reorder_point, damaged,"
            " updated_at) VALUES (%s, %s, 0, 0, 0, 0, 0, now()) "
            "ON CONFLICT (location_id, sku_id) DO NOTHING",
            [location.pk, sku.pk],
        )
    return StockLevel.objects.get(location=location, sku=sku)


_MOVE_SQL = """
UPDATE inventory_stocklevel
   SET on_hand = on_hand + %(delta)s,
       reserved = reserved + %(reserved_delta)s,
       damaged = damaged + %(damaged_delta)s,
       updated_at = now()
 WHERE location_id = %(location)s AND sku_id = %(sku)s
   AND on_hand + %(delta)s >= 0
   AND reserved + %(reserved_delta)s >= 0
   AND reserved + %(reserved_delta)s <= on_hand + %(delta)s
   AND damaged + %(damaged_delta)s >= 0
   AND on_hand - reserved - safety_stock >= %(require_available)s
RETURNING id, on_hand, reserved, safety_stock
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
    reason: str = "",
    reference_type: str = "",
    reference_id: str = "",
    actor: Actor = SYSTEM,
) -> StockMovement:
    """Apply one change to a stock level in one conditional UPDATE and write its ledger row.

    The UPDATE only matches if the result keeps every rule (nothing negative, reserved ≤ on
    hand) and, when `require_available` is set, if that many units were available before
    it. No match → `InsufficientStock` with the current availability; nothing is written.
    """
    params = {
        "delta": delta,
        "reserved_delta": reserved_delta,
        "damaged_delta": damaged_delta,
        "require_available": require_available,
        "location": location.pk,
        "sku": sku.pk,
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_MOVE_SQL, params)
            row = cursor.fetchone()
        if row is None:
            level = StockLevel.objects.filter(location=location, sku=sku).first()
            raise InsufficientStock(
                sku=sku.code,
                location=location.code,
                requested=max(-delta, reserved_delta, require_available),
                on_hand=level.on_hand if level else 0,
                reserved=level.reserved if level else 0,
                available=level.available if level else 0,
            )
        stock_level_id, on_hand, _, _ = row
        return StockMovement.objects.create(
            stock_level_id=stock_level_id,
            location=location,
            sku=sku,
            kind=kind,
            delta=delta,
            reserved_delta=reserved_delta,
            balance_after=on_hand,
            reason=reason,
            reference_type=reference_type,
            reference_id=str(reference_id),
            actor_user=actor.user,
            actor_token=actor.token,
        )
