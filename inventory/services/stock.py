"""Stock quantities at one place: receipts, adjustments, counts, damage, return restocks.

Every change goes through `ledger.move_stock` (one conditional UPDATE plus its ledger row),
so on hand always equals the sum of the ledger. Each service is its own transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.functions import Now

from inventory.models import Location, Sku, StockLevel, StockMovement
from inventory.services.ledger import (
    SYSTEM,
    Actor,
    StaleCount,
    ensure_stock_level,
    move_stock,
)
from omni import audit
from omni.errors import BadRequest, RuleBroken

Kind = StockMovement.Kind


class InvalidQuantity(BadRequest):
    code = "invalid_quantity"
    message = "Quantities must be whole numbers above zero."


class ReasonRequired(BadRequest):
    code = "reason_required"
    message = "Say why: an adjustment needs a reason."


class ReturnsNotAccepted(RuleBroken):
    code = "location_does_not_accept_returns"
    message = "This location does not take returns back into stock."


def _audited(action: str, movement: StockMovement, actor: Actor) -> StockMovement:
    """One audit entry for a stock change by staff or a token: on hand before and after."""
    audit.record(
        action,
        movement,
        actor=actor,
        before={"on_hand": movement.balance_after - movement.delta},
        after={"on_hand": movement.balance_after, "reason": movement.reason},
        sku=movement.sku,
        location=movement.location,
    )
    return movement


def require_positive(quantity: object, field: str = "quantity") -> int:
    """A whole number above zero, or `InvalidQuantity` naming the field."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity(field=field, value=str(quantity))
    return quantity


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(field="reason")
    return reason


def receive_stock(
    *,
    location: Location,
    sku: Sku,
    quantity: int,
    reference_type: str = "receipt",
    reference_id: str = "",
    reason: str = "",
    actor: Actor = SYSTEM,
) -> StockMovement:
    """Goods arrived: on hand rises by `quantity` (above zero)."""
    require_positive(quantity)
    with transaction.atomic():
        ensure_stock_level(location=location, sku=sku)
        movement = move_stock(
            location=location,
            sku=sku,
            kind=Kind.RECEIPT,
            delta=quantity,
            reason=reason,
            reference_type=reference_type,
            reference_id=reference_id,
            actor=actor,
        )
        return _audited("stock.received", movement, actor)


def adjust_stock(
    *,
    location: Location,
    sku: Sku,
    delta: int,
    reason: str,
    reference_id: str = "",
    actor: Actor = SYSTEM,
) -> StockMovement:
    """Correct on hand by `delta` (not zero) and say why. Taking away units that are
    reserved is refused (409): release the reservation first, or count."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidQuantity("An adjustment changes on hand by a non-zero whole number.")
    reason = _require_reason(reason)
    with transaction.atomic():
        ensure_stock_level(location=location, sku=sku)
        movement = move_stock(
            location=location,
            sku=sku,
            kind=Kind.ADJUSTMENT,
            delta=delta,
            reason=reason,
            reference_type="adjustment",
            reference_id=reference_id,
            actor=actor,
        )
        return _audited("stock.adjusted", movement, actor)


def count_stock(
    *,
    location: Location,
    sku: Sku,
    counted: int,
    expected: int,
    reason: str = "",
    reference_id: str = "",
    actor: Actor = SYSTEM,
) -> StockMovement:
    """A cycle count sets on hand to what was counted and writes the difference.

    `expected` is the on hand the counter saw when starting; if on hand moved since (a sale,
    a receipt), the count is refused with 409 `stale_count` and nothing changes. A count is a
    fact: if it finds fewer units than are reserved, the newest reservations are released
    and flagged for re-sourcing so reserved never exceeds on hand.
    """
    from inventory.services.reservations import release_unmeetable_reservations

    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise InvalidQuantity("A count is a whole number, zero or more.", field="counted")
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise InvalidQuantity("The expected quantity is zero or more.", field="expected")
    with transaction.atomic():
        ensure_stock_level(location=location, sku=sku)
        level = StockLevel.objects.select_for_update().get(location=location, sku=sku)
        if level.on_hand != expected:
            raise StaleCount(
                expected=expected, on_hand=level.on_hand, sku=sku.code, location=location.code
            )
        release_unmeetable_reservations(
            level=level, on_hand_after=counted, reason="Cycle count found fewer units"
        )
        movement = move_stock(
            location=location,
            sku=sku,
            kind=Kind.CYCLE_COUNT,
            delta=counted - expected,
            expect_on_hand=expected,
            reason=reason or f"Counted {counted}, expected {expected}",
            reference_type="count",
            reference_id=reference_id,
            actor=actor,
        )
        return _audited("stock.counted", movement, actor)


def mark_damaged(
    *,
    location: Location,
    sku: Sku,
    quantity: int,
    reason: str,
    reference_id: str = "",
    actor: Actor = SYSTEM,
) -> StockMovement:
    """Move units from on hand to the damaged (unsellable) quantity. Units held by
    reservations cannot be marked damaged (409); release them first."""
    require_positive(quantity)
    reason = _require_reason(reason)
    with transaction.atomic():
        ensure_stock_level(location=location, sku=sku)
        movement = move_stock(
            location=location,
            sku=sku,
            kind=Kind.DAMAGE,
            delta=-quantity,
            damaged_delta=quantity,
            reason=reason,
            reference_type="damage",
            reference_id=reference_id,
            actor=actor,
        )
        return _audited("stock.damaged", movement, actor)


def restock_return(
    *,
    location: Location,
    sku: Sku,
    quantity: int,
    return_reference: str,
    actor: Actor = SYSTEM,
) -> StockMovement:
    """Resellable returned units go back on hand at the location that received them,
    whichever location sold them; the location must accept returns (422 otherwise)."""
    require_positive(quantity)
    if not location.accepts_returns:
        raise ReturnsNotAccepted(location=location.code)
    with transaction.atomic():
        ensure_stock_level(location=location, sku=sku)
        return move_stock(
            location=location,
            sku=sku,
            kind=Kind.RETURN_RESTOCK,
            delta=quantity,
            reference_type="return",
            reference_id=return_reference,
            actor=actor,
        )


def set_stock_policy(
    *,
    location: Location,
    sku: Sku,
    safety_stock: int | None = None,
    reorder_point: int | None = None,
) -> StockLevel:
    """Set the safety stock (units never offered) and the reorder point (low-stock line).

    Neither changes on hand, so no ledger row; raising safety stock above what is free only
    makes availability zero, it never touches reservations already made.
    """
    changes = {}
    for field, value in (("safety_stock", safety_stock), ("reorder_point", reorder_point)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidQuantity(f"{field} is a whole number, zero or more.", field=field)
        changes[field] = value
    if not changes:
        raise BadRequest("Give safety_stock, reorder_point or both.")
    with transaction.atomic():
        level = ensure_stock_level(location=location, sku=sku)
        before = audit.snapshot(level, changes)
        StockLevel.objects.filter(location=location, sku=sku).update(**changes, updated_at=Now())
        level = StockLevel.objects.select_related("location", "sku").get(location=location, sku=sku)
        audit.record(
            "stock.policy_set", level, before=before, after=changes, sku=sku, location=location
        )
        return level
