"""Transfers between locations: requested → picked → in transit → received → closed.

Rules kept here:
- a transfer goes between two different, active locations, with positive quantities;
- every status change is a compare-and-set against `TRANSITIONS`, so two clerks pressing
  "ship" at once ship it once;
- shipping takes the units out of the source (`transfer_out`, refused with 409 if they are
  not available); receiving puts what arrived into the destination (`transfer_in`), never
  more than was shipped, and records the per-line discrepancy (shipped − received).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.distance import distance_km, point_of
from inventory.models import Location, Sku, StockMovement, Transfer, TransferLine
from inventory.services.ledger import SYSTEM, Actor, ensure_stock_level, move_stock
from omni import audit
from omni.errors import BadRequest, Conflict, RuleBroken

S = Transfer.Status

# action → (statuses it may start from, status it leads to). `receive` leads to
# `received` or `partially_received` depending on what arrived.
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "pick": (frozenset({S.REQUESTED}), S.PICKED),
    "ship": (frozenset({S.PICKED}), S.IN_TRANSIT),
    "receive": (frozenset({S.IN_TRANSIT, S.PARTIALLY_RECEIVED}), None),
    "close": (frozenset({S.RECEIVED, S.PARTIALLY_RECEIVED}), S.CLOSED),
    "cancel": (frozenset({S.REQUESTED, S.PICKED}), S.CANCELLED),
}

# Statuses in which shipped units are on the road (counted as in transit at the destination).
IN_TRANSIT_STATUSES = frozenset({S.IN_TRANSIT, S.PARTIALLY_RECEIVED})


class InvalidTransfer(BadRequest):
    code = "invalid_transfer"
    message = "The transfer is not valid."


class TransferToItself(BadRequest):
    code = "transfer_to_same_location"
    message = "A transfer needs two different locations."


class ReceivingMoreThanShipped(BadRequest):
    code = "receiving_more_than_shipped"
    message = "More units were received than are still outstanding on the transfer."


class LocationInactive(RuleBroken):
    code = "location_inactive"
    message = "The location is not active."


class InvalidTransferState(Conflict):
    code = "invalid_transfer_state"
    message = "The transfer is not in a state that allows this."


@dataclass(frozen=True)
class LineRequest:
    sku: Sku
    quantity: int


def _check_quantity(quantity, *, sku: Sku, field: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidTransfer(
            f"{field} must be a positive whole number.", sku=sku.code, **{field: quantity}
        )
    return quantity


def _transition(
    transfer: Transfer, action: str, to: str | None = None, actor: Actor = SYSTEM, **stamps
) -> Transfer:
    """Compare-and-set: move to the action's status only from an allowed one."""
    allowed, target = TRANSITIONS[action]
    before = transfer.status
    target = to or target
    updated = Transfer.objects.filter(pk=transfer.pk, status__in=allowed).update(
        status=target, **stamps
    )
    if not updated:
        current = Transfer.objects.filter(pk=transfer.pk).values_list("status", flat=True).first()
        raise InvalidTransferState(
            f"Cannot {action} a transfer that is {current}.",
            transfer=transfer.pk,
            action=action,
            status=current,
            allowed_from=sorted(allowed),
        )
    transfer.refresh_from_db()
    at = transfer.destination_id if action in {"receive", "close"} else transfer.source_id
    audit.record(
        f"transfer.{action}",
        transfer,
        actor=actor,
        before={"status": before},
        after={"status": transfer.status},
        location=at,
    )
    return transfer


def default_expected_arrival(*, source: Location, destination: Location) -> date:
    """A day for the van within ~500 km, a day more for each further 500 km."""
    km = distance_km(source, point_of(destination)) or 0
    return timezone.localdate() + timedelta(days=1 + int(km // 500))


def create_transfer(
    *,
    source: Location,
    destination: Location,
    lines: Iterable[LineRequest],
    note: str = "",
    reference: str = "",
    actor: Actor = SYSTEM,
) -> Transfer:
    """Request stock to move from `source` to `destination`. Nothing moves yet."""
    lines = list(lines)
    if source.pk == destination.pk:
        raise TransferToItself(location=source.code)
    for location in (source, destination):
        if not location.is_active:
            raise LocationInactive(location=location.code)
    if not lines:
        raise InvalidTransfer("A transfer needs at least one line.")
    seen: set[int] = set()
    for line in lines:
        _check_quantity(line.quantity, sku=line.sku)
        if line.sku.pk in seen:
            raise InvalidTransfer("Each SKU may appear once on a transfer.", sku=line.sku.code)
        seen.add(line.sku.pk)
    with transaction.atomic():
        transfer = Transfer.objects.create(
            source=source,
            destination=destination,
            note=note,
            reference=reference,
            requested_by=actor.user,
        )
        TransferLine.objects.bulk_create(
            TransferLine(transfer=transfer, sku=line.sku, quantity_requested=line.quantity)
            for line in sorted(lines, key=lambda line: line.sku.pk)
        )
        audit.record(
            "transfer.create",
            transfer,
            actor=actor,
            after={
                "status": transfer.status,
                "lines": {line.sku.code: line.quantity for line in lines},
            },
            location=source,
        )
    return transfer


def pick_transfer(*, transfer: Transfer, actor: Actor = SYSTEM) -> Transfer:
    """The source has picked the units; they are still on its shelves (and on hand)."""
    return _transition(transfer, "pick", actor=actor, picked_at=timezone.now())


def cancel_transfer(*, transfer: Transfer, actor: Actor = SYSTEM) -> Transfer:
    """Cancel before it ships; nothing had moved, so nothing moves back."""
    return _transition(transfer, "cancel", actor=actor, cancelled_at=timezone.now())


def ship_transfer(
    *,
    transfer: Transfer,
    shipped: Mapping[int, int] | None = None,
    expected_arrival: date | None = None,
    actor: Actor = SYSTEM,
) -> Transfer:
    """Units leave the source (`transfer_out`) and are in transit until received.

    `shipped` maps SKU id → units shipped (default: what was requested; at most that).
    Refused with 409 `insufficient_stock` if the source no longer has them available.
    """
    lines = list(transfer.lines.select_related("sku").order_by("sku_id"))
    by_sku = {line.sku_id: line for line in lines}
    shipped = dict(shipped or {})
    unknown = sorted(set(shipped) - set(by_sku))
    if unknown:
        raise InvalidTransfer("Those SKUs are not on this transfer.", sku_ids=unknown)
    quantities: dict[int, int] = {}
    for line in lines:
        quantity = shipped.get(line.sku_id, line.quantity_requested)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise InvalidTransfer(
                "Shipped quantities must be whole numbers ≥ 0.", sku=line.sku.code
            )
        if quantity > line.quantity_requested:
            raise InvalidTransfer(
                "Cannot ship more than was requested.",
                sku=line.sku.code,
                requested=line.quantity_requested,
                shipped=quantity,
            )
        quantities[line.sku_id] = quantity
    if not any(quantities.values()):
        raise InvalidTransfer("Nothing to ship; cancel the transfer instead.")
    arrival = expected_arrival or default_expected_arrival(
        source=transfer.source, destination=transfer.destination
    )
    with transaction.atomic():
        transfer = _transition(
            transfer, "ship", actor=actor, shipped_at=timezone.now(), expected_arrival=arrival
        )
        for line in lines:
            quantity = quantities[line.sku_id]
            TransferLine.objects.filter(pk=line.pk).update(quantity_shipped=quantity)
            if quantity:
                move_stock(
                    location=transfer.source,
                    sku=line.sku,
                    kind=StockMovement.Kind.TRANSFER_OUT,
                    delta=-quantity,
                    require_available=quantity,
                    reference_type="transfer",
                    reference_id=str(transfer.pk),
                    actor=actor,
                )
    return transfer


def receive_transfer(
    *,
    transfer: Transfer,
    received: Mapping[int, int] | None = None,
    notes: Mapping[int, str] | None = None,
    actor: Actor = SYSTEM,
) -> Transfer:
    """What arrived goes on hand at the destination (`transfer_in`).

    `received` maps SKU id → units received now (default: everything outstanding). More
    than is outstanding on a line is refused with nothing written. Receiving can happen in
    several goes; each records the line's discrepancy (shipped − received so far).
    """
    notes = dict(notes or {})
    with transaction.atomic():
        # One row lock serialises receipts of the same transfer; the status is still
        # changed by compare-and-set below.
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
        allowed, _ = TRANSITIONS["receive"]
        if locked.status not in allowed:
            raise InvalidTransferState(
                f"Cannot receive a transfer that is {locked.status}.",
                transfer=transfer.pk,
                action="receive",
                status=locked.status,
                allowed_from=sorted(allowed),
            )
        lines = list(locked.lines.select_related("sku").order_by("sku_id"))
        by_sku = {line.sku_id: line for line in lines}
        if received is None:
            quantities = {
                line.sku_id: line.quantity_shipped - line.quantity_received for line in lines
            }
        else:
            quantities = dict(received)
        unknown = sorted(set(quantities) - set(by_sku))
        if unknown:
            raise InvalidTransfer("Those SKUs are not on this transfer.", sku_ids=unknown)
        for sku_id, quantity in quantities.items():
            line = by_sku[sku_id]
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
                raise InvalidTransfer(
                    "Received quantities must be whole numbers ≥ 0.", sku=line.sku.code
                )
            outstanding = line.quantity_shipped - line.quantity_received
            if quantity > outstanding:
                raise ReceivingMoreThanShipped(
                    sku=line.sku.code,
                    shipped=line.quantity_shipped,
                    already_received=line.quantity_received,
                    receiving=quantity,
                )
        for line in lines:
            quantity = quantities.get(line.sku_id, 0)
            changes = {
                "quantity_received": F("quantity_received") + quantity,
                "discrepancy": F("quantity_shipped") - F("quantity_received") - quantity,
            }
            if line.sku_id in notes:
                changes["discrepancy_note"] = notes[line.sku_id][:200]
            TransferLine.objects.filter(pk=line.pk).update(**changes)
            if quantity:
                ensure_stock_level(location=locked.destination, sku=line.sku)
                move_stock(
                    location=locked.destination,
                    sku=line.sku,
                    kind=StockMovement.Kind.TRANSFER_IN,
                    delta=quantity,
                    reference_type="transfer",
                    reference_id=str(locked.pk),
                    actor=actor,
                )
        complete = not TransferLine.objects.filter(
            transfer=locked, quantity_received__lt=F("quantity_shipped")
        ).exists()
        return _transition(
            locked,
            "receive",
            to=S.RECEIVED if complete else S.PARTIALLY_RECEIVED,
            actor=actor,
            received_at=timezone.now(),
        )


def close_transfer(*, transfer: Transfer, actor: Actor = SYSTEM) -> Transfer:
    """Close a received transfer; any shortfall stays recorded as its lines' discrepancy."""
    return _transition(transfer, "close", actor=actor, closed_at=timezone.now())


def create_replenishment_transfers(
    *, suggestions: Iterable, actor: Actor = SYSTEM
) -> list[Transfer]:
    """One requested transfer per (warehouse, store) pair from replenishment suggestions."""
    grouped: dict[tuple[int, int], list] = {}
    for suggestion in suggestions:
        grouped.setdefault((suggestion.source.pk, suggestion.destination.pk), []).append(suggestion)
    created = []
    with transaction.atomic():
        for (_, _), items in sorted(grouped.items()):
            created.append(
                create_transfer(
                    source=items[0].source,
                    destination=items[0].destination,
                    lines=[LineRequest(sku=item.sku, quantity=item.quantity) for item in items],
                    reference="replenishment",
                    actor=actor,
                )
            )
    return created
