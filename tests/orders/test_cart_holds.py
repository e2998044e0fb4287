"""Short stock holds for cart lines, and checking a cart out."""

from decimal import Decimal

import pytest

from inventory.models import Reservation, StockLevel
from inventory.services.reservations import expire_reservations
from omni.errors import DomainError
from orders.models import Cart, CartLine
from orders.services.carts import CART_HOLD, empty_cart, open_cart, set_cart_line
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest, place_order
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches
from tests.orders.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lisbon():
    return LocationFactory(code="lisbon-chiado", offers_click_and_collect=True)


@pytest.fixture
def sneaker(lisbon):
    sku = SkuFactory(code="SNK-42", price=Decimal("80.00"))
    StockLevelFactory(location=lisbon, sku=sku, on_hand=2)
    return sku


def reserved(lisbon, sku) -> int:
    return StockLevel.objects.get(location=lisbon, sku=sku).reserved


def test_a_held_line_keeps_its_units_and_changing_it_moves_the_hold(lisbon, sneaker):
    cart = open_cart(channel="web", customer=CustomerFactory())
    set_cart_line(cart=cart, sku=sneaker, quantity=1, hold_at=lisbon)
    assert reserved(lisbon, sneaker) == 1
    set_cart_line(cart=cart, sku=sneaker, quantity=2, hold_at=lisbon)
    assert reserved(lisbon, sneaker) == 2
    assert Reservation.objects.filter(status="active").count() == 1
    set_cart_line(cart=cart, sku=sneaker, quantity=0)
    assert reserved(lisbon, sneaker) == 0
    assert_ledger_matches()


def test_a_hold_beyond_stock_is_409_and_the_line_is_unchanged(lisbon, sneaker):
    cart = open_cart(channel="web", customer=CustomerFactory())
    set_cart_line(cart=cart, sku=sneaker, quantity=1, hold_at=lisbon)
    with pytest.raises(DomainError) as refused:
        set_cart_line(cart=cart, sku=sneaker, quantity=3, hold_at=lisbon)
    assert refused.value.code == "insufficient_stock"
    assert CartLine.objects.get(cart=cart).quantity == 1
    assert reserved(lisbon, sneaker) == 1


def test_holds_lapse_on_their_own(lisbon, sneaker):
    from django.utils import timezone

    cart = open_cart(channel="web", customer=CustomerFactory())
    set_cart_line(cart=cart, sku=sneaker, quantity=2, hold_at=lisbon)
    expire_reservations(now=timezone.now() + CART_HOLD)
    assert reserved(lisbon, sneaker) == 0
    empty_cart(cart=cart)  # nothing left to give back: no error
    assert_ledger_matches()


def test_checking_out_a_held_cart_turns_the_hold_into_the_order(lisbon, sneaker):
    ana = CustomerFactory()
    cart = open_cart(channel="app", customer=ana)
    set_cart_line(cart=cart, sku=sneaker, quantity=2, hold_at=lisbon)
    order = place_order(
        request=CheckoutRequest(
            channel="app",
            customer_public_id=str(ana.public_id),
            lines=[LineRequest(sneaker.code, 2)],
            delivery=Delivery("click_and_collect", lisbon),
            cart=cart,
        )
    )
    assert reserved(lisbon, sneaker) == 2
    assert Reservation.objects.get(status="active").owner_ref == order.number
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CONVERTED
    assert_ledger_matches()
