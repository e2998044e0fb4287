"""POS direct sales: the stock side of a sale that already happened at the counter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inventory.models import (
    Location,
    PosStockSale,
    Reservation,
    Sku,
    StockDiscrepancy,
    StockMovement,
)
from inventory.services.ledger import SYSTEM, Actor, create_missing_stock_levels, move_stock
from inventory.services.reservations import lock_stock_levels, release_unmeetable_reservations
from inventory.services.stock import InvalidQuantity, require_positive
from omni.errors import BadRequest, Conflict
from omni.rows import insert_unless_taken

REFERENCE_TYPE = "pos_sale"


class PosSaleReferenceReused(Conflict):
    code = "pos_sale_reference_reused"
    message = "This POS sale reference was already recorded with different lines."


@dataclass(frozen=True)
class SaleLine:
    sku: Sku
    quantity: int


@dataclass
class PosSaleResult:
    sale: PosStockSale
    movements: list[StockMovement] = field(default_factory=list)
    discrepancies: list[StockDiscrepancy] = field(default_factory=list)
    flagged_reservations: list[Reservation] = field(default_factory=list)
    replayed: bool = False


def _canonical(lines: Sequence[SaleLine]) -> list[dict]:
    merged: dict[str, int] = {}
    skus: dict[str, Sku] = {}
    for index, line in enumerate(lines):
        require_positive(line.quantity, field=f"lines[{index}].quantity")
        merged[line.sku.code] = merged.get(line.sku.code, 0) + line.quantity
        skus[line.sku.code] = line.sku
    return [{"sku": code, "quantity": merged[code]} for code in sorted(merged)]


def _replay(sale: PosStockSale, canonical: list[dict]) -> PosSaleResult:
    if sale.lines != canonical:
        raise PosSaleReferenceReused(reference=sale.reference, location=sale.location.code)
    movements = StockMovement.objects.filter(
        location=sale.location, reference_type=REFERENCE_TYPE, reference_id=sale.reference
    ).select_related("sku", "location")
    discrepancies = StockDiscrepancy.objects.filter(
        location=sale.location, reference_type=REFERENCE_TYPE, reference_id=sale.reference
    ).select_related("sku", "location")
    return PosSaleResult(
        sale=sale, movements=list(movements), discrepancies=list(discrepancies), replayed=True
    )


def record_pos_sale(
    *,
    location: Location,
    reference: str,
    lines: Sequence[SaleLine],
    sold_at: datetime | None = None,
    actor: Actor = SYSTEM,
) -> PosSaleResult:
    """Record a sale made at the counter. It already happened, so it is never refused:

    - each line takes what it sold from on hand; if the record shows fewer units than were
      sold, on hand goes to zero, the sale's ledger row says what was really removed, and a
      `StockDiscrepancy` is opened for the store to investigate;
    - reservations at that store that the remaining units can no longer cover are released
      (newest first) and flagged `needs_resourcing`;
    - the same (location, reference) recorded again returns the first result and writes
      nothing; with different lines it is refused (409 `pos_sale_reference_reused`).
    """
    reference = str(reference or "").strip()
    if not reference or len(reference) > 64:
        raise BadRequest("A POS sale needs its register's reference (1-64 characters).")
    if not lines:
        raise InvalidQuantity("A POS sale needs at least one line.", field="lines")
    canonical = _canonical(lines)
    sold = {line["sku"]: line["quantity"] for line in canonical}
    skus = {line.sku.code: line.sku for line in lines}

    sale = PosStockSale(
        location=location,
        reference=reference,
        lines=canonical,
        sold_at=sold_at,
        actor_user=actor.user,
        actor_token=actor.token,
    )
    # No savepoint of its own inside a caller's transaction: any error here is the caller's.
    with transaction.atomic(savepoint=False):
        # One statement, no savepoint: a concurrent post of the same sale waits on the
        # unique index until the first commits, then replays.
        if insert_unless_taken(sale, "location_id", "reference"):
            return _remove_sold(sale, skus, sold, actor)
    # Already recorded. Outside the block, so a refused replay (409) leaves the caller's
    # transaction usable.
    existing = PosStockSale.objects.select_related("location").get(
        location=location, reference=reference
    )
    return _replay(existing, canonical)


def _remove_sold(
    sale: PosStockSale, skus: dict[str, Sku], sold: dict[str, int], actor: Actor
) -> PosSaleResult:
    """The stock side of a newly claimed sale: each line leaves on hand (down to zero at
    most, the rest a discrepancy), and reservations it leaves uncovered are released."""
    location, reference = sale.location, sale.reference
    result = PosSaleResult(sale=sale)
    places = [(location.pk, sku.pk) for sku in skus.values()]
    levels = lock_stock_levels(places)
    if len(levels) < len(places):
        # A SKU never stocked here: its empty row first, then lock them all.
        create_missing_stock_levels(
            location=location,
            skus=[sku for sku in skus.values() if (location.pk, sku.pk) not in levels],
        )
        levels = lock_stock_levels(places)
    for level in sorted(levels.values(), key=lambda level: level.pk):
        sku = next(s for s in skus.values() if s.pk == level.sku_id)
        quantity = sold[sku.code]
        removed = min(quantity, level.on_hand)
        shortfall = quantity - removed
        result.flagged_reservations += release_unmeetable_reservations(
            level=level,
            on_hand_after=level.on_hand - quantity,
            reason=f"POS sale {reference} left too few units",
            actor=actor,
        )
        movement = move_stock(
            location=location,
            sku=sku,
            kind=StockMovement.Kind.SALE,
            delta=-removed,
            reason=(f"Sold {quantity}, only {removed} on record" if shortfall else "POS sale"),
            reference_type=REFERENCE_TYPE,
            reference_id=reference,
            actor=actor,
        )
        result.movements.append(movement)
        if shortfall:
            result.discrepancies.append(
                StockDiscrepancy.objects.create(
                    location=location,
                    sku=sku,
                    kind=StockDiscrepancy.Kind.POS_OVERSALE,
                    recorded_on_hand=level.on_hand,
                    quantity=quantity,
                    shortfall=shortfall,
                    movement=movement,
                    reference_type=REFERENCE_TYPE,
                    reference_id=reference,
                )
            )
    return result


class DiscrepancyNotOpen(Conflict):
    code = "discrepancy_not_open"
    message = "This discrepancy was already resolved."


def resolve_discrepancy(*, discrepancy: StockDiscrepancy, note: str) -> StockDiscrepancy:
    """The store found the cause (a missed receipt, a mis-scan...) and closes it, once.

    Resolving changes no stock: if the shelf holds units the record missed, the store
    counts or adjusts them, which writes its own ledger row.
    """
    note = (note or "").strip()
    if not note:
        raise BadRequest("Say what was found.", field="note")
    changed = StockDiscrepancy.objects.filter(
        pk=discrepancy.pk, status=StockDiscrepancy.Status.OPEN
    ).update(status=StockDiscrepancy.Status.RESOLVED, note=note, resolved_at=timezone.now())
    if not changed:
        raise DiscrepancyNotOpen(discrepancy=discrepancy.pk)
    discrepancy.refresh_from_db()
    return discrepancy
