"""Catalogue and stock for inventory tests. Stock is made through the services, so every
unit on hand has its ledger row and the ledger invariant holds from the first line."""

import factory

from inventory.models import Product, Sku, StockLevel
from inventory.services.ledger import ensure_stock_level
from inventory.services.stock import receive_stock, set_stock_policy
from tests.factories import LocationFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Canvas sneaker {n}")
    slug = factory.Sequence(lambda n: f"canvas-sneaker-{n}")


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku
        django_get_or_create = ["code"]

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SNK-{n:05d}")
    barcode = factory.Sequence(lambda n: f"560{n:010d}")
    name = factory.LazyAttribute(lambda o: f"{o.product.name} {o.code}")
    attributes = factory.Dict({"size": "42"})
    price = "59.90"
    currency = "EUR"


class StockLevelFactory(factory.Factory):
    """`StockLevelFactory(location=lisbon, sku=sku, on_hand=3, safety_stock=1)`: the units
    arrive as a receipt, the policy is set by its service."""

    class Meta:
        model = StockLevel

    location = factory.SubFactory(LocationFactory)
    sku = factory.SubFactory(SkuFactory)
    on_hand = 0
    safety_stock = 0
    reorder_point = 0

    @classmethod
    def _create(cls, model_class, *, location, sku, on_hand, safety_stock, reorder_point):
        ensure_stock_level(location=location, sku=sku)
        if on_hand:
            receive_stock(location=location, sku=sku, quantity=on_hand, reference_id="opening")
        if safety_stock or reorder_point:
            set_stock_policy(
                location=location, sku=sku, safety_stock=safety_stock, reorder_point=reorder_point
            )
        return StockLevel.objects.select_related("location", "sku").get(location=location, sku=sku)

    @classmethod
    def _build(cls, model_class, **kwargs):
        return cls._create(model_class, **kwargs)
