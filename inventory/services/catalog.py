"""Catalogue and location network: locations, categories, brands, products and SKUs.

Rules kept here: SKU codes and barcodes are unique (409 on a duplicate), barcodes are
GTINs with a valid check digit, money is a non-negative decimal with a 3-letter currency.
A refused write leaves nothing behind.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from inventory.models import Brand, Category, Location, Product, Sku
from omni import audit
from omni.errors import BadRequest, Conflict

_CURRENCY = re.compile(r"^[A-Z]{3}$")
GTIN_LENGTHS = (8, 12, 13, 14)


class InvalidCatalogInput(BadRequest):
    code = "invalid_catalog_input"
    message = "The catalogue data is not valid."


class InvalidBarcode(BadRequest):
    code = "invalid_barcode"
    message = "The barcode is not a valid GTIN (8, 12, 13 or 14 digits with a check digit)."


class DuplicateCatalogEntry(Conflict):
    code = "duplicate"
    message = "Something with this code already exists."


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit for the digits before it: weights 3,1,3,1… from the right."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(body[::-1]))
    return (10 - total % 10) % 10


def is_valid_gtin(value: str) -> bool:
    if not value.isdigit() or len(value) not in GTIN_LENGTHS:
        return False
    return gtin_check_digit(value[:-1]) == int(value[-1])


def check_barcode(barcode: str | None) -> str | None:
    if barcode in (None, ""):
        return None
    barcode = barcode.strip()
    if not is_valid_gtin(barcode):
        raise InvalidBarcode(barcode=barcode)
    return barcode


def check_money(value: Any, *, field: str, required: bool = True) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise InvalidCatalogInput(f"{field} is required.", field=field)
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidCatalogInput(f"{field} is not a decimal amount.", field=field) from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidCatalogInput(
            f"{field} must be a non-negative amount with at most 2 decimals.", field=field
        )
    if amount >= Decimal("10000000000"):
        raise InvalidCatalogInput(f"{field} is too large.", field=field)
    return amount


def check_currency(currency: str) -> str:
    if not _CURRENCY.match(currency or ""):
        raise InvalidCatalogInput("currency must be an ISO 4217 code like EUR.", field="currency")
    return currency


def _save(instance, *, duplicate_fields: list[str]):
    """Save in a savepoint; a unique violation becomes a 409 naming the fields."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise DuplicateCatalogEntry(
            fields={name: getattr(instance, name, None) for name in duplicate_fields},
            reason=str(exc).splitlines()[0],
        ) from None
    return instance


def _check_unique(model, *, exclude_pk=None, **lookups) -> None:
    for field, value in lookups.items():
        if value in (None, ""):
            continue
        queryset = model.objects.filter(**{field: value})
        if exclude_pk is not None:
            queryset = queryset.exclude(pk=exclude_pk)
        if queryset.exists():
            raise DuplicateCatalogEntry(
                f"A {model._meta.verbose_name} with this {field} already exists.",
                field=field,
                value=value,
            )


def _validate(instance) -> None:
    from django.core.exceptions import ValidationError

    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidCatalogInput(**exc.message_dict) from None


# --- locations -----------------------------------------------------------------------------

LOCATION_FIELDS = {
    "name",
    "kind",
    "is_active",
    "address_line",
    "city",
    "region",
    "postcode",
    "country",
    "latitude",
    "longitude",
    "time_zone",
    "opening_hours",
    "sells_in_store",
    "offers_click_and_collect",
    "offers_curbside",
    "ships_to_customers",
    "accepts_returns",
    "pickup_hold_days",
}


def create_location(*, code: str, name: str, **fields: Any) -> Location:
    """A new store, warehouse or dark store; its code is unique."""
    unknown = set(fields) - LOCATION_FIELDS
    if unknown:
        raise InvalidCatalogInput(unknown_fields=sorted(unknown))
    _check_unique(Location, code=code)
    location = Location(code=code, name=name, **fields)
    _validate(location)
    return _save(location, duplicate_fields=["code"])


def update_location(*, location: Location, **changes: Any) -> Location:
    """Change a location's details and flags (its code never changes)."""
    unknown = set(changes) - LOCATION_FIELDS
    if unknown:
        raise InvalidCatalogInput(unknown_fields=sorted(unknown))
    before = audit.snapshot(location, changes)
    for field, value in changes.items():
        setattr(location, field, value)
    _validate(location)
    location = _save(location, duplicate_fields=["code"])
    audit.record(
        "location.updated",
        location,
        before=before,
        after=audit.snapshot(location, changes),
        location=location,
    )
    return location


# --- categories, brands, products ----------------------------------------------------------


def create_category(*, name: str, slug: str, parent: Category | None = None) -> Category:
    _check_unique(Category, slug=slug)
    return _save(Category(name=name, slug=slug, parent=parent), duplicate_fields=["slug"])


def create_brand(*, name: str) -> Brand:
    _check_unique(Brand, name=name)
    return _save(Brand(name=name), duplicate_fields=["name"])


PRODUCT_FIELDS = {"name", "description", "category", "brand", "is_active"}


def create_product(
    *,
    name: str,
    slug: str,
    description: str = "",
    category: Category | None = None,
    brand: Brand | None = None,
    is_active: bool = True,
) -> Product:
    """A product as customers know it; its slug is unique."""
    _check_unique(Product, slug=slug)
    product = Product(
        name=name,
        slug=slug,
        description=description,
        category=category,
        brand=brand,
        is_active=is_active,
    )
    _validate(product)
    return _save(product, duplicate_fields=["slug"])


def update_product(*, product: Product, **changes: Any) -> Product:
    unknown = set(changes) - PRODUCT_FIELDS
    if unknown:
        raise InvalidCatalogInput(unknown_fields=sorted(unknown))
    before = audit.snapshot(product, changes)
    for field, value in changes.items():
        setattr(product, field, value)
    _validate(product)
    product = _save(product, duplicate_fields=["slug"])
    audit.record("product.updated", product, before=before, after=audit.snapshot(product, changes))
    return product


# --- SKUs ----------------------------------------------------------------------------------

SKU_FIELDS = {"name", "barcode", "attributes", "price", "currency", "cost", "is_active"}


def create_sku(
    *,
    product: Product,
    code: str,
    price: Decimal | str,
    currency: str = "EUR",
    barcode: str | None = None,
    name: str = "",
    attributes: dict | None = None,
    cost: Decimal | str | None = None,
    is_active: bool = True,
) -> Sku:
    """A sellable variant. Code and barcode are unique; the barcode is a valid GTIN."""
    code = (code or "").strip()
    if not code:
        raise InvalidCatalogInput("code is required.", field="code")
    barcode = check_barcode(barcode)
    sku = Sku(
        product=product,
        code=code,
        barcode=barcode,
        name=name,
        attributes=attributes or {},
        price=check_money(price, field="price"),
        currency=check_currency(currency),
        cost=check_money(cost, field="cost", required=False),
        is_active=is_active,
    )
    _check_unique(Sku, code=code, barcode=barcode)
    _validate(sku)
    return _save(sku, duplicate_fields=["code", "barcode"])


def update_sku(*, sku: Sku, **changes: Any) -> Sku:
    """Change a SKU's price, barcode, attributes or active flag (its code never changes)."""
    unknown = set(changes) - SKU_FIELDS
    if unknown:
        raise InvalidCatalogInput(unknown_fields=sorted(unknown))
    if "barcode" in changes:
        changes["barcode"] = check_barcode(changes["barcode"])
        _check_unique(Sku, exclude_pk=sku.pk, barcode=changes["barcode"])
    if "price" in changes:
        changes["price"] = check_money(changes["price"], field="price")
    if "cost" in changes:
        changes["cost"] = check_money(changes["cost"], field="cost", required=False)
    if "currency" in changes:
        changes["currency"] = check_currency(changes["currency"])
    before = audit.snapshot(sku, changes)
    for field, value in changes.items():
        setattr(sku, field, value)
    _validate(sku)
    sku = _save(sku, duplicate_fields=["code", "barcode"])
    audit.record("sku.updated", sku, before=before, after=audit.snapshot(sku, changes), sku=sku)
    return sku
