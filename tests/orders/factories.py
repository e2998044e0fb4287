from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import Customer
from inventory.models import Product, Sku
from orders.models import DiscountCode, Fulfilment, Order, OrderLine, Promotion
from tests.factories import LocationFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Trail runner {n}")
    slug = factory.Sequence(lambda n: f"trail-runner-{n}")


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"TR-{n:05d}")
    price = Decimal("80.00")
    currency = "EUR"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = "Ana"
    last_name = factory.Sequence(lambda n: f"Silva{n}")


class PromotionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promotion

    name = "Ten percent"
    kind = Promotion.Kind.PERCENTAGE
    value = Decimal("10.00")


class DiscountCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiscountCode

    promotion = factory.SubFactory(PromotionFactory)
    code = factory.Sequence(lambda n: f"SPRING{n}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"OM-{n:06d}")
    channel = "web"
    placed_at = factory.LazyFunction(timezone.now)
    customer = factory.SubFactory(CustomerFactory)


class FulfilmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fulfilment

    order = factory.SubFactory(OrderFactory)
    method = Fulfilment.Method.CLICK_AND_COLLECT
    location = factory.SubFactory(LocationFactory)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    sku = factory.SubFactory(SkuFactory)
    quantity = 2
    unit_price = Decimal("80.00")
    total = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)
