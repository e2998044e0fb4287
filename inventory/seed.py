"""Demo catalogue and network: six locations in four cities and three time zones, a few
hundred SKUs (products in sizes and colours, valid EAN-13 barcodes) and opening stock.

Stock is bulk-inserted together with one receipt ledger row per stock level, so on hand
equals the ledger sum from the first second. Seeding takes well under a few seconds.
"""

from __future__ import annotations

import random
from decimal import Decimal

from django.db import transaction

from inventory.models import (
    Brand,
    Category,
    Location,
    Product,
    Sku,
    StockLevel,
    StockMovement,
    Transfer,
)
from inventory.services.catalog import gtin_check_digit

STORE_HOURS = {
    **{day: [["10:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")},
    "sun": [["11:00", "19:00"]],
}
WAREHOUSE_HOURS = {
    **{day: [["06:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": [["08:00", "14:00"]],
    "sun": [],
}

NETWORK = {
    "lisbon-chiado": {
        "address_line": "Rua Garrett 50",
        "city": "Lisboa",
        "postcode": "1200-204",
        "country": "PT",
        "latitude": Decimal("38.710700"),
        "longitude": Decimal("-9.141500"),
        "time_zone": "Europe/Lisbon",
        "opening_hours": STORE_HOURS,
        "offers_click_and_collect": True,
        "offers_curbside": False,
        "ships_to_customers": True,
    },
    "porto-baixa": {
        "address_line": "Rua de Santa Catarina 120",
        "city": "Porto",
        "postcode": "4000-442",
        "country": "PT",
        "latitude": Decimal("41.149600"),
        "longitude": Decimal("-8.606300"),
        "time_zone": "Europe/Lisbon",
        "opening_hours": STORE_HOURS,
        "offers_click_and_collect": True,
        "offers_curbside": True,
        "ships_to_customers": False,
    },
    "madrid-salamanca": {
        "address_line": "Calle de Serrano 47",
        "city": "Madrid",
        "postcode": "28001",
        "country": "ES",
        "latitude": Decimal("40.429900"),
        "longitude": Decimal("-3.686600"),
        "time_zone": "Europe/Madrid",
        "opening_hours": STORE_HOURS,
        "offers_click_and_collect": True,
        "offers_curbside": False,
        "ships_to_customers": True,
    },
    "berlin-mitte": {
        "address_line": "Rosenthaler Straße 40",
        "city": "Berlin",
        "postcode": "10178",
        "country": "DE",
        "latitude": Decimal("52.525500"),
        "longitude": Decimal("13.402000"),
        "time_zone": "Europe/Berlin",
        "opening_hours": {**STORE_HOURS, "sun": []},
        "offers_click_and_collect": True,
        "offers_curbside": True,
        "ships_to_customers": False,
    },
    "warehouse-central": {
        "address_line": "Avenida de Castilla-La Mancha 3",
        "city": "Azuqueca de Henares",
        "postcode": "19200",
        "country": "ES",
        "latitude": Decimal("40.567200"),
        "longitude": Decimal("-3.265400"),
        "time_zone": "Europe/Madrid",
        "opening_hours": WAREHOUSE_HOURS,
        "sells_in_store": False,
        "offers_click_and_collect": False,
        "ships_to_customers": True,
        "accepts_returns": True,
    },
    "barcelona-poblenou": {
        "name": "Barcelona Poblenou (dark store)",
        "kind": Location.Kind.DARK_STORE,
        "address_line": "Carrer de Pallars 190",
        "city": "Barcelona",
        "postcode": "08005",
        "country": "ES",
        "latitude": Decimal("41.400500"),
        "longitude": Decimal("2.197700"),
        "time_zone": "Europe/Madrid",
        "opening_hours": {day: [["08:00", "23:00"]] for day in STORE_HOURS},
        "sells_in_store": False,
        "offers_click_and_collect": False,
        "offers_curbside": True,
        "ships_to_customers": True,
        "accepts_returns": False,
        "pickup_hold_days": 2,
    },
}

CATEGORIES = [
    ("Footwear", "footwear", None),
    ("Sneakers", "sneakers", "footwear"),
    ("Boots", "boots", "footwear"),
    ("Apparel", "apparel", None),
    ("T-shirts", "t-shirts", "apparel"),
    ("Jackets", "jackets", "apparel"),
    ("Jeans", "jeans", "apparel"),
    ("Accessories", "accessories", None),
    ("Bags", "bags", "accessories"),
    ("Caps", "caps", "accessories"),
]
BRANDS = ["Atlântico", "Nordwind", "Sierra Lane", "Ribeira", "Kollektiv", "Omni Basics"]
COLOURS = {
    "BLK": "Black",
    "WHT": "White",
    "NVY": "Navy",
    "OLV": "Olive",
    "SND": "Sand",
    "RED": "Red",
}
# (category, code prefix, names, sizes, colours per product, price range)
RANGES = [
    (
        "sneakers",
        "SNK",
        [
            "Aura Runner",
            "Baixa Low",
            "Tejo Court",
            "Mitte Trail",
            "Salamanca Knit",
            "Ribeira Slip-on",
        ],
        ["39", "40", "41", "42", "43", "44"],
        2,
        (69, 139),
    ),
    (
        "boots",
        "BOT",
        ["Douro Chelsea", "Harz Hiker", "Sierra Lace-up"],
        ["39", "40", "41", "42", "43", "44"],
        2,
        (119, 219),
    ),
    (
        "t-shirts",
        "TEE",
        ["Essential Tee", "Pocket Tee", "Heavyweight Tee", "Linen Tee", "Logo Tee", "Stripe Tee"],
        ["S", "M", "L", "XL"],
        3,
        (19, 39),
    ),
    (
        "jackets",
        "JKT",
        ["Atlantic Rain Shell", "Nordwind Puffer", "Chore Jacket", "Harrington", "Field Jacket"],
        ["S", "M", "L", "XL"],
        2,
        (89, 249),
    ),
    (
        "jeans",
        "JNS",
        ["Slim 511", "Straight Raw", "Relaxed Carpenter", "Tapered Stretch"],
        ["28", "30", "32", "34", "36"],
        2,
        (59, 119),
    ),
    ("bags", "BAG", ["Weekender", "Tote", "Commuter Backpack", "Sling"], ["OS"], 3, (39, 149)),
    ("caps", "CAP", ["Six-Panel Cap", "Wool Beanie", "Bucket Hat"], ["OS"], 2, (19, 35)),
]

BARCODE_PREFIX = "5601234"  # a GS1 Portugal company prefix for the demo brand


def ean13(number: int) -> str:
    body = f"{BARCODE_PREFIX}{number:05d}"
    return body + str(gtin_check_digit(body))


def _seed_network() -> None:
    from omni.seed import LOCATIONS

    known = {code: (name, kind) for code, name, kind in LOCATIONS}
    for code, details in NETWORK.items():
        details = dict(details)
        name, kind = known.get(code, (None, None))
        name = details.pop("name", name)
        kind = details.pop("kind", kind)
        location, _ = Location.objects.get_or_create(
            code=code, defaults={"name": name or code, "kind": kind or Location.Kind.STORE}
        )
        for field, value in details.items():
            setattr(location, field, value)
        location.save()


def _seed_catalogue(rng: random.Random) -> list[Sku]:
    categories: dict[str, Category] = {}
    for name, slug, parent in CATEGORIES:
        categories[slug], _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "parent": categories.get(parent)}
        )
    brands = [Brand.objects.get_or_create(name=name)[0] for name in BRANDS]
    products: list[Product] = []
    plans = []
    for category, prefix, names, sizes, colour_count, (low, high) in RANGES:
        for name in names:
            brand = rng.choice(brands)
            slug = f"{prefix.lower()}-{name.lower().replace(' ', '-')}"
            products.append(
                Product(
                    name=name,
                    slug=slug,
                    category=categories[category],
                    brand=brand,
                    description=f"{name} by {brand.name}.",
                )
            )
            colours = rng.sample(sorted(COLOURS), colour_count)
            price = Decimal(rng.randrange(low, high + 1)) - Decimal("0.01")
            plans.append((prefix, name, sizes, colours, price))
    Product.objects.bulk_create(products)
    skus: list[Sku] = []
    number = 0
    for product, (prefix, name, sizes, colours, price) in zip(products, plans, strict=True):
        stem = "".join(word[:3] for word in name.upper().replace("-", " ").split()[:2])
        for colour in colours:
            for size in sizes:
                number += 1
                skus.append(
                    Sku(
                        product=product,
                        code=f"{prefix}-{stem}-{colour}-{size}",
                        barcode=ean13(number),
                        name=f"{name}, {COLOURS[colour]}, {size}",
                        attributes={"colour": COLOURS[colour], "size": size},
                        price=price,
                        currency="EUR",
                        cost=(price * Decimal("0.42")).quantize(Decimal("0.01")),
                    )
                )
    return Sku.objects.bulk_create(skus)


def _seed_stock(rng: random.Random, skus: list[Sku]) -> int:
    locations = list(Location.objects.filter(code__in=NETWORK))
    levels = []
    for sku in skus:
        for location in locations:
            if location.kind == Location.Kind.WAREHOUSE:
                on_hand, reorder, safety = rng.randrange(8, 60), 10, 2
            elif location.kind == Location.Kind.DARK_STORE:
                on_hand, reorder, safety = rng.choice([0, 2, 4, 6, 10]), 3, 0
            else:
                on_hand, reorder, safety = rng.choice([0, 1, 2, 3, 4, 5, 6, 8]), 2, 0
            levels.append(
                StockLevel(
                    location=location,
                    sku=sku,
                    on_hand=on_hand,
                    safety_stock=min(safety, on_hand),
                    reorder_point=reorder,
                )
            )
    levels = StockLevel.objects.bulk_create(levels)
    StockMovement.objects.bulk_create(
        StockMovement(
            stock_level=level,
            location=level.location,
            sku=level.sku,
            kind=StockMovement.Kind.RECEIPT,
            delta=level.on_hand,
            balance_after=level.on_hand,
            reason="opening stock",
            reference_type="seed",
        )
        for level in levels
        if level.on_hand
    )
    return len(levels)


def _seed_transfers(skus: list[Sku]) -> None:
    """One transfer on the road to Lisbon and one just requested for Porto."""
    from inventory.services import transfers

    warehouse = Location.objects.get(code="warehouse-central")
    lines = [transfers.LineRequest(sku=sku, quantity=3) for sku in skus[:4]]
    on_road = transfers.create_transfer(
        source=warehouse,
        destination=Location.objects.get(code="lisbon-chiado"),
        lines=lines,
        reference="replenishment",
    )
    transfers.pick_transfer(transfer=on_road)
    transfers.ship_transfer(transfer=on_road)
    transfers.create_transfer(
        source=warehouse,
        destination=Location.objects.get(code="porto-baixa"),
        lines=[transfers.LineRequest(sku=sku, quantity=2) for sku in skus[10:13]],
        reference="replenishment",
    )


def seed(*, stdout, force: bool = False) -> None:
    _seed_network()
    if Sku.objects.exists() and not force:
        stdout.write("inventory: catalogue already there, skipped")
        return
    if Sku.objects.exists():
        stdout.write("inventory: catalogue already there; --force only refreshes the network")
        return
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible on purpose
    with transaction.atomic():
        skus = _seed_catalogue(rng)
        levels = _seed_stock(rng, skus)
        if not Transfer.objects.exists():
            _seed_transfers(skus)
    stdout.write(
        f"inventory: {len(NETWORK)} locations, {Product.objects.count()} products, "
        f"{len(skus)} SKUs, {levels} stock levels"
    )
