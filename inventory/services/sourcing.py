"""Sourcing: which location(s) fill an order, decided deterministically and explained.

Rules:
- click-and-collect / curbside: the pickup store (it must offer that service) fills what
  it has; what it lacks comes by transfer to it from the fewest other locations, nearest
  to the store first;
- ship: the fewest shipments from locations that ship to customers, nearest to the
  delivery point first; an order is split only when no single location can fill it;
- ties go to the nearer location, then the lower location code;
- not enough stock anywhere → 409 `insufficient_stock` with the availability per line.

Planning reads and never writes: the caller reserves or transfers through the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from django.db.models import F
from django.db.models.functions import Greatest

from inventory.distance import distance_km, point_of
from inventory.models import Location, Sku, StockLevel
from inventory.services.ledger import InsufficientStock
from omni.errors import BadRequest, RuleBroken

# Exhaustive search for the fewest locations up to this many per order, among at most
# EXACT_SEARCH_MAX_CANDIDATES holders; beyond either (rare), a greedy cover is close enough
# and stays fast (C(30, 3) = 4,060 combinations at most).
EXACT_SEARCH_MAX_LOCATIONS = 3
EXACT_SEARCH_MAX_CANDIDATES = 30


class DeliveryMethod:
    SHIP = "ship"
    CLICK_AND_COLLECT = "click_and_collect"
    CURBSIDE = "curbside"
    CHOICES = (SHIP, CLICK_AND_COLLECT, CURBSIDE)
    PICKUP = (CLICK_AND_COLLECT, CURBSIDE)


class InvalidSourcingRequest(BadRequest):
    code = "invalid_sourcing_request"
    message = "The sourcing request is not valid."


class LocationCannotFulfil(RuleBroken):
    code = "location_cannot_fulfil"
    message = "This location does not offer that delivery method."


@dataclass(frozen=True)
class OrderLine:
    sku: Sku
    quantity: int


@dataclass
class Leg:
    """Units leaving one location: a shipment to the customer or a transfer to the store."""

    location: Location
    distance_km: float | None
    lines: list[tuple[Sku, int]] = field(default_factory=list)


@dataclass
class SourcingPlan:
    method: str
    pickup_location: Location | None = None
    pick_at_pickup: list[tuple[Sku, int]] = field(default_factory=list)
    shipments: list[Leg] = field(default_factory=list)
    transfers: list[Leg] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def _check_lines(lines: Sequence[OrderLine]) -> dict[int, int]:
    if not lines:
        raise InvalidSourcingRequest("An order needs at least one line.")
    need: dict[int, int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise InvalidSourcingRequest("Quantities are whole numbers.", sku=line.sku.code)
        if line.quantity <= 0:
            raise InvalidSourcingRequest(
                "Quantities must be positive.", sku=line.sku.code, quantity=line.quantity
            )
        need[line.sku.pk] = need.get(line.sku.pk, 0) + line.quantity
    return need


def _stock(location_ids, sku_ids) -> dict[int, dict[int, int]]:
    """available[location_id][sku_id], one query."""
    table: dict[int, dict[int, int]] = {}
    for row in (
        StockLevel.objects.filter(location_id__in=list(location_ids), sku_id__in=list(sku_ids))
        .annotate(available_now=Greatest(F("on_hand") - F("reserved") - F("safety_stock"), 0))
        .values_list("location_id", "sku_id", "available_now")
    ):
        table.setdefault(row[0], {})[row[1]] = row[2]
    return table


def _covers(combo, need, stock) -> bool:
    return all(
        sum(stock.get(place.pk, {}).get(sku_id, 0) for place, _ in combo) >= quantity
        for sku_id, quantity in need.items()
    )


def _cover(
    need: dict[int, int], ranked: list[tuple[Location, float | None]], stock
) -> list[tuple[Location, float | None]] | None:
    """The fewest locations that together hold `need`; among equals the nearest (sum of
    distances), then the lowest codes. `ranked` is nearest first."""
    holders = [
        pair
        for pair in ranked
        if any(stock.get(pair[0].pk, {}).get(sku_id, 0) > 0 for sku_id in need)
    ]
    exhaustive = len(holders) <= EXACT_SEARCH_MAX_CANDIDATES
    max_size = min(len(holders), EXACT_SEARCH_MAX_LOCATIONS) if exhaustive else 1
    for size in range(1, max_size + 1):
        feasible = [combo for combo in combinations(holders, size) if _covers(combo, need, stock)]
        if feasible:
            # combinations() keeps `holders` order, so min() breaks exact ties by rank.
            return list(
                min(
                    feasible,
                    key=lambda combo: (
                        sum(distance or 0.0 for _, distance in combo),
                        [place.code for place, _ in combo],
                    ),
                )
            )
    # Greedy beyond the exhaustive range: take the place that covers most of what is left.
    left = dict(need)
    chosen: list[tuple[Location, float | None]] = []
    while any(left.values()):
        best = max(
            (pair for pair in holders if pair not in chosen),
            key=lambda pair: sum(
                min(stock.get(pair[0].pk, {}).get(sku_id, 0), quantity)
                for sku_id, quantity in left.items()
            ),
            default=None,
        )
        if best is None:
            return None
        gained = 0
        for sku_id, quantity in left.items():
            take = min(stock.get(best[0].pk, {}).get(sku_id, 0), quantity)
            left[sku_id] = quantity - take
            gained += take
        if not gained:
            return None
        chosen.append(best)
    return chosen


def _allocate(need, chosen, stock, skus) -> list[Leg]:
    """Split the lines over the chosen places, nearest first."""
    left = dict(need)
    legs = []
    for place, distance in chosen:
        leg = Leg(location=place, distance_km=distance)
        for sku_id in sorted(left):
            take = min(stock.get(place.pk, {}).get(sku_id, 0), left[sku_id])
            if take:
                leg.lines.append((skus[sku_id], take))
                left[sku_id] -= take
        if leg.lines:
            legs.append(leg)
    return legs


def _refuse(need, skus, stock, places) -> InsufficientStock:
    return InsufficientStock(
        "No combination of locations has enough stock for this order.",
        lines=[
            {
                "sku": skus[sku_id].code,
                "requested": quantity,
                "available": sum(stock.get(place.pk, {}).get(sku_id, 0) for place in places),
                "by_location": {
                    place.code: stock.get(place.pk, {}).get(sku_id, 0)
                    for place in places
                    if stock.get(place.pk, {}).get(sku_id, 0)
                },
            }
            for sku_id, quantity in sorted(need.items())
        ],
    )


def _rank(places, point) -> list[tuple[Location, float | None]]:
    return sorted(
        ((place, distance_km(place, point)) for place in places),
        key=lambda pair: (pair[1] is None, pair[1] or 0.0, pair[0].code),
    )


def _where(leg: Leg) -> str:
    away = f", {leg.distance_km:g} km" if leg.distance_km is not None else ""
    return f"{leg.location.code}{away}"


def plan_sourcing(
    *,
    lines: Sequence[OrderLine],
    method: str,
    pickup_location: Location | None = None,
    ship_to: tuple[float, float] | None = None,
    ship_from: Location | None = None,
) -> SourcingPlan:
    """Choose where each unit of an order comes from, and say why (see module rules)."""
    if method not in DeliveryMethod.CHOICES:
        raise InvalidSourcingRequest(
            "Unknown delivery method.", method=method, allowed=list(DeliveryMethod.CHOICES)
        )
    need = _check_lines(lines)
    skus = {line.sku.pk: line.sku for line in lines}
    if method in DeliveryMethod.PICKUP:
        return _plan_pickup(need=need, skus=skus, method=method, store=pickup_location)
    return _plan_shipping(need=need, skus=skus, ship_to=ship_to, ship_from=ship_from)


def _plan_pickup(*, need, skus, method, store: Location | None) -> SourcingPlan:
    if store is None:
        raise InvalidSourcingRequest(f"{method} needs a pickup_location.")
    offers = (
        store.offers_click_and_collect
        if method == DeliveryMethod.CLICK_AND_COLLECT
        else store.offers_curbside
    )
    if not store.is_active or not offers:
        raise LocationCannotFulfil(
            f"{store.name} does not offer {method.replace('_', ' ')}.",
            location=store.code,
            method=method,
        )
    plan = SourcingPlan(method=method, pickup_location=store)
    others = list(Location.objects.filter(is_active=True).exclude(pk=store.pk))
    stock = _stock([store.pk, *(place.pk for place in others)], need)
    here = stock.get(store.pk, {})
    missing: dict[int, int] = {}
    for sku_id, quantity in sorted(need.items()):
        take = min(here.get(sku_id, 0), quantity)
        if take:
            plan.pick_at_pickup.append((skus[sku_id], take))
        if quantity - take:
            missing[sku_id] = quantity - take
    if not missing:
        plan.reasons.append(f"{store.code} has every line; pick them there.")
        return plan
    lacking = ", ".join(f"{skus[s].code} ×{q}" for s, q in missing.items())
    plan.reasons.append(f"{store.code} lacks {lacking}.")
    ranked = _rank(others, point_of(store))
    chosen = _cover(missing, ranked, stock)
    if chosen is None:
        raise _refuse(need, skus, stock, [store, *others])
    plan.transfers = _allocate(missing, chosen, stock, skus)
    if len(plan.transfers) == 1:
        plan.reasons.append(
            f"Transfer from {_where(plan.transfers[0])}: the nearest location to "
            f"{store.code} that has what is missing."
        )
    else:
        plan.reasons.append(
            f"No single location has everything missing; {len(plan.transfers)} transfers, "
            "nearest first: " + "; ".join(_where(leg) for leg in plan.transfers) + "."
        )
    return plan


def _plan_shipping(*, need, skus, ship_to, ship_from: Location | None) -> SourcingPlan:
    plan = SourcingPlan(method=DeliveryMethod.SHIP)
    if ship_from is not None:
        if not ship_from.is_active or not ship_from.ships_to_customers:
            raise LocationCannotFulfil(
                f"{ship_from.name} does not ship to customers.",
                location=ship_from.code,
                method=DeliveryMethod.SHIP,
            )
        places = [ship_from]
    else:
        places = list(Location.objects.filter(is_active=True, ships_to_customers=True))
    stock = _stock([place.pk for place in places], need)
    ranked = _rank(places, ship_to)
    chosen = _cover(need, ranked, stock)
    if chosen is None:
        raise _refuse(need, skus, stock, places)
    plan.shipments = _allocate(need, chosen, stock, skus)
    basis = "nearest to the delivery address" if ship_to else "no address given, by code"
    if ship_from is not None:
        plan.reasons.append(f"Ship from {_where(plan.shipments[0])}, as asked.")
    elif len(plan.shipments) == 1:
        plan.reasons.append(
            f"One shipment from {_where(plan.shipments[0])}: {basis} of the locations "
            "that ship and hold every line."
        )
    else:
        plan.reasons.append(
            "No single shipping location holds every line; split into "
            f"{len(plan.shipments)} shipments ({basis}): "
            + "; ".join(_where(leg) for leg in plan.shipments)
            + "."
        )
    return plan
