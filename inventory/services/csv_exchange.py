"""CSV in and out: import products, SKUs and opening stock; export stock levels.

The import is all or nothing: every row is checked first (`check_catalog_csv`), and a
single bad cell refuses the whole file with a report of (row, column, error); only a clean
file is written (`import_catalog_csv`), in one transaction, opening stock as receipts
through the ledger so on hand equals the ledger sum.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils.text import slugify

from inventory.models import Brand, Category, Location, Product, Sku, StockLevel, StockMovement
from inventory.services.catalog import (
    DuplicateCatalogEntry,
    InvalidBarcode,
    InvalidCatalogInput,
    check_barcode,
    check_currency,
    check_money,
)
from inventory.services.ledger import SYSTEM, Actor, ensure_stock_level, move_stock
from omni.errors import BadRequest

COLUMNS = [
    "product_slug",
    "product_name",
    "category",
    "brand",
    "sku_code",
    "barcode",
    "size",
    "colour",
    "price",
    "currency",
    "cost",
    "location",
    "quantity",
]
REQUIRED_COLUMNS = {"product_slug", "sku_code", "price"}
MAX_ROWS = 20_000
# The SKU's own fields; a SKU repeated on several rows (stock at several places) must
# repeat them identically.
SKU_COLUMNS = ("product_slug", "barcode", "size", "colour", "price", "currency", "cost")


class CatalogImportInvalid(BadRequest):
    code = "csv_invalid"
    message = "The file has errors; nothing was imported."


@dataclass
class CsvRow:
    number: int
    product_slug: str
    product_name: str
    category: str
    brand: str
    sku_code: str
    barcode: str | None
    size: str
    colour: str
    price: Decimal
    currency: str
    cost: Decimal | None
    location: Location | None
    quantity: int


@dataclass
class CatalogImportPlan:
    rows: list[CsvRow] = field(default_factory=list)
    new_products: list[str] = field(default_factory=list)
    new_skus: list[str] = field(default_factory=list)
    new_categories: list[str] = field(default_factory=list)
    new_brands: list[str] = field(default_factory=list)
    receipts: int = 0
    units: int = 0


def _read(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    return header, [
        {key: (value or "").strip() for key, value in row.items() if key} for row in reader
    ]


def check_catalog_csv(*, text: str) -> CatalogImportPlan:
    """Parse and validate the whole file; raise `CatalogImportInvalid` listing every error."""
    errors: list[dict] = []

    def bad(row: int, column: str, error: str) -> None:
        errors.append({"row": row, "column": column, "error": error})

    header, records = _read(text)
    missing = sorted(REQUIRED_COLUMNS - set(header))
    unknown = [name for name in header if name not in COLUMNS]
    for name in missing:
        bad(1, name, "required column is missing")
    for name in unknown:
        bad(1, name, f"unknown column (expected some of: {', '.join(COLUMNS)})")
    if not records and not missing:
        bad(1, "", "the file has no rows")
    if len(records) > MAX_ROWS:
        bad(1, "", f"at most {MAX_ROWS} rows per file")
    if errors:
        raise CatalogImportInvalid(errors=errors)

    codes = {record.get("sku_code", "") for record in records}
    barcodes = {record.get("barcode", "") for record in records} - {""}
    slugs = {record.get("product_slug", "") for record in records}
    existing_codes = set(Sku.objects.filter(code__in=codes).values_list("code", flat=True))
    existing_barcodes = set(
        Sku.objects.filter(barcode__in=barcodes).values_list("barcode", flat=True)
    )
    products = set(Product.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    locations = {
        location.code: location
        for location in Location.objects.filter(
            code__in={record.get("location", "") for record in records}
        )
    }
    categories = set(Category.objects.values_list("slug", flat=True))
    brands = set(Brand.objects.values_list("name", flat=True))

    plan = CatalogImportPlan()
    first_of_sku: dict[str, dict[str, str]] = {}
    barcode_owner: dict[str, str] = {}
    stocked: set[tuple[str, str]] = set()
    for index, record in enumerate(records, start=2):
        code = record.get("sku_code", "")
        slug = record.get("product_slug", "")
        row_errors = len(errors)
        if not code:
            bad(index, "sku_code", "required")
        elif code in existing_codes:
            bad(index, "sku_code", f"SKU {code} already exists")
        elif len(code) > 64:
            bad(index, "sku_code", "at most 64 characters")
        if not slug:
            bad(index, "product_slug", "required")
        elif slugify(slug) != slug:
            bad(index, "product_slug", "use lowercase letters, digits and hyphens")
        elif slug not in products and not record.get("product_name"):
            bad(index, "product_name", "required for a new product")
        barcode = record.get("barcode") or None
        try:
            barcode = check_barcode(barcode)
        except InvalidBarcode:
            bad(index, "barcode", "not a valid GTIN (wrong length or check digit)")
        if barcode and barcode in existing_barcodes:
            bad(index, "barcode", f"barcode {barcode} already belongs to another SKU")
        elif barcode and barcode_owner.setdefault(barcode, code) != code:
            bad(index, "barcode", f"barcode {barcode} is on two SKUs in this file")
        price = cost = None
        try:
            price = check_money(record.get("price"), field="price")
        except InvalidCatalogInput as exc:
            bad(index, "price", exc.message)
        try:
            cost = check_money(record.get("cost"), field="cost", required=False)
        except InvalidCatalogInput as exc:
            bad(index, "cost", exc.message)
        currency = record.get("currency") or "EUR"
        try:
            check_currency(currency)
        except InvalidCatalogInput as exc:
            bad(index, "currency", exc.message)
        location_code = record.get("location", "")
        quantity_text = record.get("quantity", "")
        location = None
        quantity = 0
        if location_code or quantity_text:
            location = locations.get(location_code)
            if not location_code:
                bad(index, "location", "required when a quantity is given")
            elif location is None:
                bad(index, "location", f"no location has the code {location_code}")
            if not quantity_text.isdigit() or int(quantity_text) <= 0:
                bad(index, "quantity", "a whole number greater than zero")
            else:
                quantity = int(quantity_text)
            if (code, location_code) in stocked:
                bad(index, "location", f"{code} already has stock at {location_code} above")
            stocked.add((code, location_code))
        if code in first_of_sku:
            first = first_of_sku[code]
            for column in SKU_COLUMNS:
                if record.get(column, "") != first.get(column, ""):
                    bad(index, column, f"differs from an earlier row of {code}")
        if len(errors) != row_errors:
            continue
        plan.rows.append(
            CsvRow(
                number=index,
                product_slug=slug,
                product_name=record.get("product_name", ""),
                category=record.get("category", ""),
                brand=record.get("brand", ""),
                sku_code=code,
                barcode=barcode,
                size=record.get("size", ""),
                colour=record.get("colour", ""),
                price=price,
                currency=currency,
                cost=cost,
                location=location,
                quantity=quantity,
            )
        )
        if code not in first_of_sku:
            first_of_sku[code] = record
            plan.new_skus.append(code)
            if slug not in products and slug not in plan.new_products:
                plan.new_products.append(slug)
            category = record.get("category", "")
            if category and category not in categories and category not in plan.new_categories:
                plan.new_categories.append(category)
            brand = record.get("brand", "")
            if brand and brand not in brands and brand not in plan.new_brands:
                plan.new_brands.append(brand)
        if quantity:
            plan.receipts += 1
            plan.units += quantity
    if errors:
        raise CatalogImportInvalid(errors=errors)
    return plan


@dataclass
class CatalogImportResult:
    products: int
    skus: int
    receipts: int
    units: int


def import_catalog_csv(*, text: str, actor: Actor = SYSTEM) -> CatalogImportResult:
    """Check the whole file, then write it in one transaction (or nothing at all)."""
    plan = check_catalog_csv(text=text)
    try:
        with transaction.atomic():
            categories = {category.slug: category for category in Category.objects.all()}
            for slug in plan.new_categories:
                categories[slug] = Category.objects.create(
                    slug=slugify(slug), name=slug.replace("-", " ").capitalize()
                )
            brands = {brand.name: brand for brand in Brand.objects.all()}
            for name in plan.new_brands:
                brands[name] = Brand.objects.create(name=name)
            products = {
                product.slug: product
                for product in Product.objects.filter(
                    slug__in={row.product_slug for row in plan.rows}
                )
            }
            skus: dict[str, Sku] = {}
            for row in plan.rows:
                if row.product_slug not in products:
                    products[row.product_slug] = Product.objects.create(
                        slug=row.product_slug,
                        name=row.product_name,
                        category=categories.get(row.category),
                        brand=brands.get(row.brand),
                    )
                if row.sku_code not in skus:
                    skus[row.sku_code] = Sku.objects.create(
                        product=products[row.product_slug],
                        code=row.sku_code,
                        barcode=row.barcode,
                        name=", ".join(
                            part
                            for part in (products[row.product_slug].name, row.colour, row.size)
                            if part
                        ),
                        attributes={
                            key: value
                            for key, value in (("size", row.size), ("colour", row.colour))
                            if value
                        },
                        price=row.price,
                        currency=row.currency,
                        cost=row.cost,
                    )
                if row.quantity:
                    sku = skus[row.sku_code]
                    ensure_stock_level(location=row.location, sku=sku)
                    move_stock(
                        location=row.location,
                        sku=sku,
                        kind=StockMovement.Kind.RECEIPT,
                        delta=row.quantity,
                        reason="opening stock (CSV import)",
                        reference_type="csv_import",
                        actor=actor,
                    )
    except IntegrityError as exc:
        # Someone created the same code between the check and the write.
        raise DuplicateCatalogEntry(
            "A SKU or barcode in the file was created meanwhile; nothing was imported.",
            reason=str(exc).splitlines()[0],
        ) from None
    return CatalogImportResult(
        products=len(plan.new_products),
        skus=len(plan.new_skus),
        receipts=plan.receipts,
        units=plan.units,
    )


EXPORT_COLUMNS = [
    "location",
    "sku",
    "barcode",
    "product",
    "on_hand",
    "reserved",
    "safety_stock",
    "available",
    "damaged",
    "reorder_point",
]


def export_stock_csv(*, out, location_ids: Iterable[int] | None = None) -> int:
    """Write every stock level as CSV to `out`; returns the number of rows. Streams in
    chunks so a large catalogue does not sit in memory."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    levels = StockLevel.objects.annotate(
        available_now=Greatest(F("on_hand") - F("reserved") - F("safety_stock"), 0)
    ).order_by("location__code", "sku__code")
    if location_ids is not None:
        levels = levels.filter(location_id__in=list(location_ids))
    count = 0
    for row in levels.values_list(
        "location__code",
        "sku__code",
        "sku__barcode",
        "sku__product__name",
        "on_hand",
        "reserved",
        "safety_stock",
        "available_now",
        "damaged",
        "reorder_point",
    ).iterator(chunk_size=2000):
        writer.writerow(["" if value is None else value for value in row])
        count += 1
    return count
