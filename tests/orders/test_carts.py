import threading
from decimal import Decimal

import pytest
from django.db import connection

from omni.errors import DomainError
from orders.models import Cart, CartLine
from orders.services.carts import empty_cart, merge_device_cart, open_cart, set_cart_line
from tests.orders.factories import CustomerFactory, SkuFactory

pytestmark = pytest.mark.django_db


def test_the_same_cart_opens_on_web_and_app():
    ana = CustomerFactory()
    web = open_cart(channel="web", customer=ana)
    app = open_cart(channel="app", customer=ana)
    assert web.pk == app.pk


def test_a_line_keeps_the_price_it_was_added_at():
    ana, sku = CustomerFactory(), SkuFactory(price=Decimal("80.00"))
    cart = open_cart(channel="web", customer=ana)
    set_cart_line(cart=cart, sku=sku, quantity=1)
    sku.price = Decimal("95.00")
    sku.save()
    set_cart_line(cart=cart, sku=sku, quantity=2)
    line = CartLine.objects.get(cart=cart)
    assert (line.quantity, line.unit_price) == (2, Decimal("80.00"))


def test_signing_in_merges_the_device_cart_into_the_customer_cart():
    ana, shoes, socks = CustomerFactory(), SkuFactory(), SkuFactory()
    mine = open_cart(channel="web", customer=ana)
    set_cart_line(cart=mine, sku=shoes, quantity=1)
    phone = open_cart(channel="app", device_id="device-abc")
    set_cart_line(cart=phone, sku=shoes, quantity=1)
    set_cart_line(cart=phone, sku=socks, quantity=3)

    merged = merge_device_cart(device_id="device-abc", customer=ana, channel="app")
    assert merged.pk == mine.pk
    quantities = dict(CartLine.objects.filter(cart=mine).values_list("sku_id", "quantity"))
    assert quantities == {shoes.pk: 2, socks.pk: 3}
    assert Cart.objects.get(pk=phone.pk).status == Cart.Status.MERGED


@pytest.mark.parametrize("quantity", [-1, 100, 1.5])
def test_bad_quantities_are_refused_and_change_nothing(quantity):
    cart = open_cart(channel="web", customer=CustomerFactory())
    with pytest.raises(DomainError) as refused:
        set_cart_line(cart=cart, sku=SkuFactory(), quantity=quantity)
    assert refused.value.code == "invalid_quantity"
    assert not CartLine.objects.exists()


def test_an_inactive_sku_cannot_be_added():
    cart = open_cart(channel="web", customer=CustomerFactory())
    with pytest.raises(DomainError) as refused:
        set_cart_line(cart=cart, sku=SkuFactory(is_active=False), quantity=1)
    assert refused.value.code == "sku_not_sellable"


def test_emptying_a_cart_closes_it():
    cart = open_cart(channel="web", customer=CustomerFactory())
    set_cart_line(cart=cart, sku=SkuFactory(), quantity=1)
    assert empty_cart(cart=cart).status == Cart.Status.EMPTIED
    assert not CartLine.objects.filter(cart=cart).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_visits_open_one_cart():
    ana = CustomerFactory()
    barrier = threading.Barrier(8)
    carts = []

    def visit():
        barrier.wait()
        try:
            carts.append(open_cart(channel="web", customer=ana).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=visit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(carts)) == 1
    assert Cart.objects.filter(customer=ana).count() == 1
