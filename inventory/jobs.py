"""CSV in and out for the inventory app, run in the worker: products (new SKUs with their
opening stock) and stock counts (a count sheet exported, filled in, imported)."""

from __future__ import annotations

import csv

from django.db import transaction
from django.urls import reverse

from inventory.models import Location, Sku, StockLevel
from inventory.services.csv_exchange import (
    COLUMNS as PRODUCT_COLUMNS,
)
from inventory.services.csv_exchange import (
    REQUIRED_COLUMNS as PRODUCT_REQUIRED,
)
from inventory.services.csv_exchange import (
    CatalogImportInvalid,
    check_catalog_csv,
    import_catalog_csv,
)
from inventory.services.ledger import Actor
from omni.auth import visible_location_ids
from omni.csv_import import (
    CsvCheck,
    CsvImporter,
    check_header,
    preview_rows,
    read_csv,
    register_csv_importer,
)

# --- Products -------------------------------------------------------------------------------


def check_products_csv(text: str, user=None) -> CsvCheck:
    header, rows = read_csv(text)
    check = CsvCheck(columns=[c for c in PRODUCT_COLUMNS if c in header] or header)
    check.rows = preview_rows(check.columns, rows)
    if not check_header(check, header, PRODUCT_REQUIRED):
        return check
    try:
        plan = check_catalog_csv(text=text)
    except CatalogImportInvalid as invalid:
        for error in invalid.details["errors"]:
            check.error(error["row"], error["column"], error["error"])
        return check
    check.count = len(plan.rows)
    check.summary = (
        f"{len(plan.new_products)} new product(s), {len(plan.new_skus)} new SKU(s), "
        f"{plan.receipts} opening receipt(s) of {plan.units} unit(s)"
        + (f", {len(plan.new_categories)} new categories" if plan.new_categories else "")
        + (f", {len(plan.new_brands)} new brands" if plan.new_brands else "")
        + "."
    )
    return check


def import_products_csv(text: str, user, progress) -> dict:
    progress(0, 1, "Writing products, SKUs and opening stock")
    result = import_catalog_csv(text=text, actor=Actor.of(user))
    progress(1, 1)
    return {
        "message": f"Imported {result.products} product(s), {result.skus} SKU(s) and "
        f"{result.receipts} opening receipt(s) ({result.units} units).",
        "link": reverse("admin:inventory_sku_changelist"),
        "link_label": "See the SKUs",
    }


def export_products_csv(out, user=None) -> int:
    """Every SKU in the import's columns (without stock), one row each."""
    writer = csv.writer(out)
    writer.writerow(PRODUCT_COLUMNS)
    skus = Sku.objects.select_related("product__category", "product__brand").order_by(
        "product__slug", "code"
    )
    count = 0
    for sku in skus.iterator(chunk_size=2000):
        product = sku.product
        writer.writerow(
            [
                product.slug,
                product.name,
                product.category.slug if product.category_id else "",
                product.brand.name if product.brand_id else "",
                sku.code,
                sku.barcode or "",
                sku.attributes.get("size", ""),
                sku.attributes.get("colour", ""),
                sku.price,
                sku.currency,
                "" if sku.cost is None else sku.cost,
                "",
                "",
            ]
        )
        count += 1
    return count


register_csv_importer(
    CsvImporter(
        kind="products",
        title="Products",
        scope="catalog:write",
        export_scope="catalog:read",
        columns=PRODUCT_COLUMNS,
        check=check_products_csv,
        write=import_products_csv,
        export=export_products_csv,
        help="New products and SKUs, one SKU per row; location and quantity add opening "
        "stock (repeat the SKU's row for each place).",
    )
)


# --- Stock counts --------------------------------------------------------------------------

STOCK_COLUMNS = ["location", "sku", "barcode", "product", "on_hand", "counted"]


def _visible_locations(user) -> dict[str, Location]:
    locations = Location.objects.all()
    ids = visible_location_ids(user) if user is not None else None
    if ids is not None:
        locations = locations.filter(pk__in=ids)
    return {location.code: location for location in locations}


def _whole(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def check_stock_csv(text: str, user=None) -> CsvCheck:
    """A count sheet: rows with a `counted` figure set on hand to it; `on_hand` is what the
    sheet showed when exported, so a level that moved since is refused, not overwritten."""
    header, rows = read_csv(text)
    check = CsvCheck(columns=[c for c in STOCK_COLUMNS if c in header] or header)
    check.rows = preview_rows(check.columns, rows)
    if not check_header(check, header, {"location", "sku", "on_hand", "counted"}):
        return check
    places = _visible_locations(user)
    skus = {
        sku.code: sku for sku in Sku.objects.filter(code__in={row.get("sku", "") for row in rows})
    }
    levels = {
        (level.location_id, level.sku_id): level.on_hand
        for level in StockLevel.objects.filter(sku__in=skus.values(), location__in=places.values())
    }
    seen: dict[tuple[str, str], int] = {}
    changes = counted_rows = 0
    for index, row in enumerate(rows, start=2):
        if not row.get("counted"):
            continue  # not counted this time
        counted_rows += 1
        location = places.get(row.get("location", ""))
        sku = skus.get(row.get("sku", ""))
        if location is None:
            check.error(
                index, "location", f"no location of yours has the code {row.get('location')!r}"
            )
        if sku is None:
            check.error(index, "sku", f"no SKU has the code {row.get('sku')!r}")
        counted = _whole(row["counted"])
        expected = _whole(row.get("on_hand", ""))
        if counted is None:
            check.error(index, "counted", "a whole number, zero or more")
        if expected is None:
            check.error(index, "on_hand", "a whole number, zero or more (as exported)")
        key = (row.get("location", ""), row.get("sku", ""))
        if key in seen:
            check.error(index, "sku", f"counted twice here (row {seen[key]} too)")
        seen.setdefault(key, index)
        if location is None or sku is None or expected is None or counted is None:
            continue
        current = levels.get((location.pk, sku.pk), 0)
        if current != expected:
            check.error(
                index,
                "on_hand",
                f"{current} on hand now, not {expected}: stock moved since the sheet was "
                "exported; export a fresh sheet",
            )
        elif counted != expected:
            changes += 1
    if not counted_rows and not check.errors:
        check.error(1, "counted", "no row has a counted figure")
    check.count = counted_rows
    check.summary = f"{counted_rows} count(s), {changes} of them change on hand."
    return check


def import_stock_csv(text: str, user, progress) -> dict:
    """Every count through the stock service, in one transaction."""
    from inventory.services.stock import count_stock

    _, rows = read_csv(text)
    counted_rows = [row for row in rows if row.get("counted")]
    places = _visible_locations(user)
    skus = {sku.code: sku for sku in Sku.objects.filter(code__in={r["sku"] for r in counted_rows})}
    total = len(counted_rows)
    actor = Actor.of(user)
    progress(0, total, "Writing counts")
    with transaction.atomic():
        for index, row in enumerate(counted_rows, start=1):
            count_stock(
                location=places[row["location"]],
                sku=skus[row["sku"]],
                counted=int(row["counted"]),
                expected=int(row["on_hand"]),
                reason="Count sheet (CSV import)",
                actor=actor,
            )
            if index % 50 == 0 or index == total:
                progress(index, total, f"{index} of {total} counts written")
    return {
        "message": f"Recorded {total} count(s).",
        "link": reverse("admin:inventory_stocklookup_changelist"),
        "link_label": "Stock lookup",
    }


def export_stock_sheet_csv(out, user=None) -> int:
    """A count sheet of the user's locations: fill in `counted`, import it back."""
    writer = csv.writer(out)
    writer.writerow(STOCK_COLUMNS)
    levels = StockLevel.objects.select_related("location", "sku__product").order_by(
        "location__code", "sku__code"
    )
    ids = visible_location_ids(user) if user is not None else None
    if ids is not None:
        levels = levels.filter(location_id__in=ids)
    count = 0
    for level in levels.iterator(chunk_size=2000):
        writer.writerow(
            [
                level.location.code,
                level.sku.code,
                level.sku.barcode or "",
                level.sku.name or level.sku.product.name,
                level.on_hand,
                "",
            ]
        )
        count += 1
    return count


register_csv_importer(
    CsvImporter(
        kind="stock",
        title="Stock counts",
        scope="stock:write",
        export_scope="stock:read",
        columns=STOCK_COLUMNS,
        check=check_stock_csv,
        write=import_stock_csv,
        export=export_stock_sheet_csv,
        help="Export the count sheet, fill in the counted column for what you counted, "
        "import it back; rows left blank are not touched.",
    )
)
