"""Reads of the stock pool: availability (per SKU, bulk, nearby, per channel), stock in
transit, the low-stock signal, and the replenishment report.

Every bulk read runs a fixed number of queries whatever the number of SKUs: one for the
SKUs, one for their stock levels (with locations), one for what is in transit.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Greatest

from inventory.distance import distance_km, point_of
from inventory.models import Location, Sku, StockLevel, Transfer

LOW_STOCK_THRESHOLD = 2
IN_TRANSIT_STATUSES = (Transfer.Status.IN_TRANSIT, Transfer.Status.PARTIALLY_RECEIVED)


class Channel:
    """Which locations' stock a channel may sell."""

    ALL = "all"
    WEB = "web"  # ship-from locations plus pickup stores
    SHIP = "ship"  # locations that ship to customers
    PICKUP = "pickup"  # click-and-collect or curbside stores
    STORE = "store"  # one store, now (needs a location)
    CHOICES = (ALL, WEB, SHIP, PICKUP, STORE)


def channel_filter(channel: str) -> Q:
    pickup = Q(offers_click_and_collect=True) | Q(offers_curbside=True)
    if channel == Channel.WEB:
        return Q(is_active=True) & (Q(ships_to_customers=True) | pickup)
    if channel == Channel.SHIP:
        return Q(is_active=True, ships_to_customers=True)
    if channel == Channel.PICKUP:
        return Q(is_active=True) & pickup
    if channel == Channel.STORE:
        return Q(is_active=True, sells_in_store=True)
    return Q(is_active=True)


# Locations change seldom and every availability call reads them, so each process keeps
# them in memory: all of them by id and by code, and each channel's ids. A version stamp
# in the shared cache says whether that copy is still good (one small read per request);
# saving or deleting a location draws a new stamp (`inventory.apps`), now and again when
# the change commits, so every process reloads.
_LOCATIONS_VERSION_KEY = "locations:version"
_locations: dict = {"version": None}


def _location_memo() -> dict:
    global _locations
    version = cache.get(_LOCATIONS_VERSION_KEY)
    if version is None:
        cache.add(_LOCATIONS_VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(_LOCATIONS_VERSION_KEY)
    if _locations["version"] != version:
        by_id = Location.objects.in_bulk()
        # A new dict, swapped in whole, so a thread reading the old one never sees it half
        # filled.
        _locations = {
            "version": version,
            "by_id": by_id,
            "by_code": {place.code: place for place in by_id.values()},
            "channels": {},
        }
    return _locations


def location_by_code(code: str) -> Location | None:
    return _location_memo()["by_code"].get(code)


def _channel_location_ids(memo: dict, channel: str) -> list[int]:
    """The ids of the locations a channel sells from (`channel_filter`), kept in `memo`."""
    if channel not in memo["channels"]:
        places = Location.objects.filter(channel_filter(channel))
        memo["channels"][channel] = list(places.values_list("pk", flat=True))
    return memo["channels"][channel]


def forget_locations() -> None:
    def renew() -> None:
        cache.set(_LOCATIONS_VERSION_KEY, uuid.uuid4().hex, timeout=None)

    renew()
    transaction.on_commit(renew)


def stock_status(available: int, threshold: int = LOW_STOCK_THRESHOLD) -> str:
    """`out_of_stock`, `low_stock` (1..threshold left: "only 2 left") or `in_stock`."""
    if available <= 0:
        return "out_of_stock"
    if available <= threshold:
        return "low_stock"
    return "in_stock"


@dataclass
class PlaceStock:
    location: Location
    on_hand: int
    reserved: int
    available: int
    distance_km: float | None = None
    threshold: int = LOW_STOCK_THRESHOLD

    @property
    def status(self) -> str:
        return stock_status(self.available, self.threshold)

    @property
    def low_stock(self) -> bool:
        return self.status == "low_stock"

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ").capitalize()


@dataclass
class InTransit:
    transfer_id: int
    source: Location
    destination: Location
    quantity: int
    expected_arrival: date | None


@dataclass
class SkuAvailability:
    sku: Sku
    places: list[PlaceStock] = field(default_factory=list)
    in_transit: list[InTransit] = field(default_factory=list)
    threshold: int = LOW_STOCK_THRESHOLD

    @property
    def available(self) -> int:
        return sum(place.available for place in self.places)

    @property
    def in_transit_quantity(self) -> int:
        return sum(item.quantity for item in self.in_transit)

    @property
    def status(self) -> str:
        return stock_status(self.available, self.threshold)

    @property
    def low_stock(self) -> bool:
        return self.status == "low_stock"


def skus_by_code(codes: Iterable[str]) -> dict[str, Sku]:
    """The SKUs with these codes (or barcodes), keyed by the code asked for; one query."""
    codes = [code for code in dict.fromkeys(codes) if code]
    found: dict[str, Sku] = {}
    for sku in Sku.objects.filter(Q(code__in=codes) | Q(barcode__in=codes)).select_related(
        "product"
    ):
        found[sku.code] = sku
        if sku.barcode:
            found.setdefault(sku.barcode, sku)
    return {code: found[code] for code in codes if code in found}


def availability(
    skus: Sequence[Sku],
    *,
    channel: str = Channel.ALL,
    location: Location | None = None,
    near: tuple[float, float] | None = None,
    in_stock_only: bool = False,
    threshold: int = LOW_STOCK_THRESHOLD,
) -> list[SkuAvailability]:
    """Availability of each SKU at the locations the channel can sell from, in two queries
    (the locations come from the process's copy).

    `location` narrows to one place (what one store can sell now); `near` orders places
    nearest first with their distance in km (unknown coordinates last), ties by code.
    """
    result = {sku.pk: SkuAvailability(sku=sku, threshold=threshold) for sku in skus}
    if not result:
        return []
    memo = _location_memo()
    place_ids = _channel_location_ids(memo, channel)
    if location is not None:
        place_ids = [pk for pk in place_ids if pk == location.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT sku_id, location_id, on_hand, reserved,
                   GREATEST(on_hand - reserved - safety_stock, 0)
              FROM inventory_stocklevel WHERE sku_id = ANY(%s) AND location_id = ANY(%s)
            """,
            [list(result), place_ids],
        )
        levels = cursor.fetchall()
    transit = in_transit_lines(skus=result, destinations=place_ids)
    places = memo["by_id"]
    wanted = {row[1] for row in levels}
    wanted |= {pk for line in transit for pk in (line.source_id, line.destination_id)}
    if missing := wanted - places.keys():  # created after this process's copy was made
        places = {**places, **Location.objects.in_bulk(missing)}
    for sku_id, location_id, on_hand, reserved, available in levels:
        if in_stock_only and available <= 0:
            continue
        result[sku_id].places.append(
            PlaceStock(
                location=places[location_id],
                on_hand=on_hand,
                reserved=reserved,
                available=available,
                distance_km=distance_km(places[location_id], near),
                threshold=threshold,
            )
        )
    for line in transit:
        result[line.sku_id].in_transit.append(
            InTransit(
                transfer_id=line.transfer_id,
                source=places[line.source_id],
                destination=places[line.destination_id],
                quantity=line.quantity,
                expected_arrival=line.expected_arrival,
            )
        )
    for entry in result.values():
        entry.places.sort(key=_place_order(near))
        entry.in_transit.sort(
            key=lambda item: (item.expected_arrival or date.max, item.transfer_id)
        )
    return [result[sku.pk] for sku in skus]


def _place_order(near):
    def key(place: PlaceStock):
        if near is not None:
            unknown = place.distance_km is None
            return (unknown, place.distance_km or 0.0, place.location.code)
        return (-place.available, place.location.code)

    return key


class RoadLine(NamedTuple):
    """Units of one transfer line still on the road."""

    sku_id: int
    transfer_id: int
    source_id: int
    destination_id: int
    quantity: int
    expected_arrival: date | None


def in_transit_lines(
    *, skus: Iterable[int], destinations: Iterable[int] | None = None
) -> list[RoadLine]:
    """Transfer lines with units on the road (to `destinations`, location ids, if given)."""
    sql = """
        SELECT line.sku_id, line.transfer_id, transfer.source_id, transfer.destination_id,
               line.quantity_shipped - line.quantity_received, transfer.expected_arrival
          FROM inventory_transferline AS line
          JOIN inventory_transfer AS transfer ON transfer.id = line.transfer_id
         WHERE line.sku_id = ANY(%s) AND transfer.status = ANY(%s)
           AND line.quantity_shipped > line.quantity_received
    """
    params: list = [list(skus), list(IN_TRANSIT_STATUSES)]
    if destinations is not None:
        sql += " AND transfer.destination_id = ANY(%s)"
        params.append(list(destinations))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [RoadLine(*row) for row in cursor.fetchall()]


def nearby_locations(
    *,
    point: tuple[float, float],
    channel: str = Channel.ALL,
    exclude: Location | None = None,
    limit: int | None = None,
) -> list[tuple[Location, float | None]]:
    """Active locations nearest first with their distance; those without coordinates last."""
    places = Location.objects.filter(channel_filter(channel))
    if exclude is not None:
        places = places.exclude(pk=exclude.pk)
    ranked = sorted(
        ((place, distance_km(place, point)) for place in places),
        key=lambda pair: (pair[1] is None, pair[1] or 0.0, pair[0].code),
    )
    return ranked[:limit] if limit else ranked


def reference_point(
    *, location: Location | None = None, latitude=None, longitude=None
) -> tuple[float, float] | None:
    if latitude is not None and longitude is not None:
        return float(latitude), float(longitude)
    return point_of(location)


# --- low stock and replenishment -----------------------------------------------------------


def low_stock_levels(
    *, location_ids: Iterable[int] | None = None, model: type[StockLevel] = StockLevel
) -> QuerySet:
    """Stock levels whose available quantity is below their reorder point."""
    levels = (
        model.objects.annotate(
            available_now=Greatest(F("on_hand") - F("reserved") - F("safety_stock"), 0)
        )
        .filter(reorder_point__gt=0, available_now__lt=F("reorder_point"), location__is_active=True)
        .select_related("location", "sku__product")
        .order_by("location__code", "sku__code")
    )
    if location_ids is not None:
        levels = levels.filter(location_id__in=list(location_ids))
    return levels


@dataclass
class ReplenishmentSuggestion:
    source: Location
    destination: Location
    sku: Sku
    quantity: int
    available: int
    reorder_point: int
    in_transit: int
    reason: str


def replenishment_suggestions(
    *, location_ids: Iterable[int] | None = None
) -> list[ReplenishmentSuggestion]:
    """Transfers from warehouses that bring each low store back to twice its reorder point.

    Units already on the road to the store count towards the target. The nearest warehouse
    that can cover the whole need is preferred, else the one with the most available; a
    warehouse's units are not promised twice. Four queries whatever the size.
    """
    low = [level for level in low_stock_levels(location_ids=location_ids)]
    low = [level for level in low if level.location.kind != Location.Kind.WAREHOUSE]
    if not low:
        return []
    sku_ids = {level.sku_id for level in low}
    on_the_road: dict[tuple[int, int], int] = defaultdict(int)
    for line in in_transit_lines(skus=sku_ids):
        on_the_road[(line.destination_id, line.sku_id)] += line.quantity
    warehouses = list(Location.objects.filter(kind=Location.Kind.WAREHOUSE, is_active=True))
    spare: dict[tuple[int, int], int] = {
        (level.location_id, level.sku_id): level.available_now
        for level in StockLevel.objects.filter(
            location__in=warehouses, sku_id__in=sku_ids
        ).annotate(available_now=Greatest(F("on_hand") - F("reserved") - F("safety_stock"), 0))
    }
    suggestions = []
    for level in low:
        coming = on_the_road[(level.location_id, level.sku_id)]
        need = 2 * level.reorder_point - level.available_now - coming
        if need <= 0:
            continue
        point = point_of(level.location)
        ranked = sorted(
            warehouses,
            key=lambda w: (
                spare.get((w.pk, level.sku_id), 0) < need,
                distance_km(w, point) if point and w.latitude is not None else float("inf"),
                -spare.get((w.pk, level.sku_id), 0),
                w.code,
            ),
        )
        for warehouse in ranked:
            has = spare.get((warehouse.pk, level.sku_id), 0)
            if has <= 0:
                continue
            quantity = min(has, need)
            spare[(warehouse.pk, level.sku_id)] = has - quantity
            suggestions.append(
                ReplenishmentSuggestion(
                    source=warehouse,
                    destination=level.location,
                    sku=level.sku,
                    quantity=quantity,
                    available=level.available_now,
                    reorder_point=level.reorder_point,
                    in_transit=coming,
                    reason=(
                        f"{level.available_now} available < reorder point "
                        f"{level.reorder_point}; {coming} in transit; target "
                        f"{2 * level.reorder_point}"
                    ),
                )
            )
            break
    return suggestions
