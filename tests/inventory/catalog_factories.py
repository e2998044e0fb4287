"""Factories for the catalogue, the location network and transfers."""

from decimal import Decimal

import factory

from inventory.models import Brand, Category, Location, Product, Sku, StockLevel, StockMovement
from inventory.seed import ean13
from inventory.services.ledger import ensure_stock_level, move_stock
from tests.factories import LocationFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Brand {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Runner {n}")
    slug = factory.Sequence(lambda n: f"runner-{n}")
    category = factory.SubFactory(CategoryFactory)
    brand = factory.SubFactory(BrandFactory)


class CatalogSkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku
        django_get_or_create = ["code"]

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"RUN-{n:04d}")
    barcode = factory.Sequence(lambda n: ean13(90000 + n))
    name = factory.LazyAttribute(lambda o: f"{o.product.name} {o.code}")
    price = Decimal("89.99")
    currency = "EUR"
    cost = Decimal("38.00")


# Real places, so distances mean something in the scenarios.
PLACES = {
    "lisbon-chiado": ("Lisbon Chiado", "store", 38.7107, -9.1415),
    "porto-baixa": ("Porto Baixa", "store", 41.1496, -8.6063),
    "madrid-salamanca": ("Madrid Salamanca", "store", 40.4299, -3.6866),
    "berlin-mitte": ("Berlin Mitte", "store", 52.5255, 13.4020),
    "warehouse-central": ("Central warehouse", "warehouse", 40.5672, -3.2654),
    "coimbra-baixa": ("Coimbra Baixa", "store", 40.2090, -8.4290),
}


def place(code: str, **flags) -> Location:
    """One of the network's real places, with its coordinates and the flags given."""
    name, kind, latitude, longitude = PLACES[code]
    location = LocationFactory(code=code, name=name, kind=kind)
    location.latitude = Decimal(str(latitude))
    location.longitude = Decimal(str(longitude))
    for field, value in flags.items():
        setattr(location, field, value)
    location.save()
    return location


def stock(location: Location, sku: Sku, on_hand: int, **extra) -> StockLevel:
    """Receive `on_hand` units through the ledger (so on hand == ledger sum)."""
    level = ensure_stock_level(location=location, sku=sku)
    if on_hand:
        move_stock(location=location, sku=sku, kind=StockMovement.Kind.RECEIPT, delta=on_hand)
    if extra:
        # Safety stock, reorder point (and, in tests only, reserved units) set directly.
        StockLevel.objects.filter(pk=level.pk).update(**extra)
    level.refresh_from_db()
    return level


def ledger_matches_on_hand() -> bool:
    from django.db.models import Sum

    for level in StockLevel.objects.annotate(total=Sum("movements__delta")):
        if (level.total or 0) != level.on_hand:
            return False
    return True
