"""Where an order's lines come from, as fulfilments: inventory's sourcing plan, read as
the parts of an order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from inventory.models import Location, Sku
from inventory.services.sourcing import OrderLine as SourcingLine
from inventory.services.sourcing import plan_sourcing
from orders.models import Fulfilment

M = Fulfilment.Method


@dataclass
class Part:
    """One fulfilment: `items` are reserved at `source`, and reach the customer by
    `method` from (or at) `location`."""

    method: str
    location: Location
    source: Location
    items: list[tuple[Sku, int]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def needs_transfer(self) -> bool:
        return self.source.pk != self.location.pk


def plan_fulfilments(
    *,
    items: Sequence[tuple[Sku, int]],
    method: str,
    pickup_location: Location | None = None,
    ship_to: tuple[float, float] | None = None,
) -> list[Part]:
    """Pickups are collected at the pickup store, with what it lacks sent there by
    transfer; shipments go out from the fewest locations that ship."""
    plan = plan_sourcing(
        lines=[SourcingLine(sku=sku, quantity=quantity) for sku, quantity in items],
        method=method,
        pickup_location=pickup_location,
        ship_to=ship_to,
    )
    if plan.pickup_location is not None:
        store = plan.pickup_location
        parts = []
        if plan.pick_at_pickup:
            parts.append(
                Part(
                    method=method,
                    location=store,
                    source=store,
                    items=list(plan.pick_at_pickup),
                    reasons=plan.reasons,
                )
            )
        for leg in plan.transfers:
            parts.append(
                Part(
                    method=method,
                    location=store,
                    source=leg.location,
                    items=list(leg.lines),
                    reasons=plan.reasons,
                )
            )
        return parts
    return [
        Part(
            method=M.SHIP if leg.location.kind != Location.Kind.STORE else M.SHIP_FROM_STORE,
            location=leg.location,
            source=leg.location,
            items=list(leg.lines),
            reasons=plan.reasons,
        )
        for leg in plan.shipments
    ]
