"""Orders feed the customer's metrics and loyalty, and follow the customer in a merge."""

from decimal import Decimal

import pytest

from customers.models import CustomerMetrics, LoyaltyEntry
from customers.services.loyalty import account_of, ledger_balance
from customers.services.merge import merge_customers, unmerge_customers
from omni.auth import Actor
from omni.models import Scope
from orders.models import Cart, Order
from orders.services.carts import open_cart
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest, place_order
from orders.services.fulfilment import cancel_order
from orders.services.pos import PosLine, PosSaleRequest, record_pos_sale
from tests.factories import LocationFactory, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lisbon():
    return LocationFactory(code="lisbon-chiado", offers_click_and_collect=True)


@pytest.fixture
def sneaker(lisbon):
    sku = SkuFactory(code="SNK-42", price=Decimal("80.00"), cost=Decimal("30.00"))
    StockLevelFactory(location=lisbon, sku=sku, on_hand=10)
    return sku


def web_order(sku, store, email="ana@example.com"):
    return place_order(
        request=CheckoutRequest(
            channel="web",
            email=email,
            lines=[LineRequest(sku.code, 1)],
            delivery=Delivery("click_and_collect", store),
        )
    )


def test_a_till_sale_posted_twice_earns_loyalty_once(lisbon, sneaker):
    token, _ = make_token([Scope.SALES_WRITE], locations=[lisbon])
    sale = PosSaleRequest(
        location=lisbon,
        client_reference="T-77",
        lines=[PosLine(sneaker.code, 2)],
        customer_identities=[{"kind": "email", "value": "ana@example.com"}],
    )
    order, _ = record_pos_sale(request=sale, actor=Actor(token=token))
    record_pos_sale(request=sale, actor=Actor(token=token))
    assert LoyaltyEntry.objects.filter(customer=order.customer, kind="earn").count() == 1
    assert account_of(order.customer).balance == ledger_balance(order.customer) > 0
    metrics = CustomerMetrics.objects.get(customer=order.customer)
    assert metrics.order_count == 1


def test_a_cancelled_order_gives_back_what_it_counted(lisbon, sneaker):
    order = web_order(sneaker, lisbon)
    assert ledger_balance(order.customer) > 0
    cancel_order(order=order, reason="changed mind")
    assert ledger_balance(order.customer) == 0


def test_orders_and_carts_follow_a_merge_and_come_back_on_unmerge(lisbon, sneaker):
    ana_web = web_order(sneaker, lisbon, "ana@example.com").customer
    ana_store = web_order(sneaker, lisbon, "ana.silva@example.com").customer
    open_cart(channel="web", customer=ana_web)
    store_cart = open_cart(channel="app", customer=ana_store)
    merge = merge_customers(survivor=ana_web, merged=ana_store, reason="same person")
    assert Order.objects.filter(customer=ana_web).count() == 2
    assert Cart.objects.get(pk=store_cart.pk).status == Cart.Status.MERGED
    unmerge_customers(merge=merge, reason="different people after all")
    assert Order.objects.filter(customer=ana_store).count() == 1
    assert Cart.objects.get(pk=store_cart.pk).status == Cart.Status.OPEN


def test_a_refunded_return_takes_back_loyalty_points(lisbon, sneaker):
    from orders.services.fulfilment import collect_pickup, mark_ready_for_pickup
    from orders.services.returns import (
        ReturnLineRequest,
        inspect_return,
        refund_return,
        start_return,
    )

    order = web_order(sneaker, lisbon)
    earned = ledger_balance(order.customer)
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    collect_pickup(fulfilment=pickup, code=pickup.pickup_code)
    returned = start_return(
        order=order,
        channel="store",
        location=lisbon,
        lines=[ReturnLineRequest(order.lines.get().pk, 1)],
    )
    inspect_return(return_request=returned, conditions={returned.lines.get().pk: "resellable"})
    refund_return(return_request=returned, method="store_credit")
    assert earned > 0
    assert ledger_balance(order.customer) == 0
    assert CustomerMetrics.objects.get(customer=order.customer).return_count == 1


def test_a_customer_with_an_open_order_cannot_be_erased(lisbon, sneaker):
    from customers.services.privacy import erase_customer
    from omni.errors import DomainError

    order = web_order(sneaker, lisbon)
    with pytest.raises(DomainError) as refused:
        erase_customer(customer=order.customer, reason="asked to be forgotten")
    assert refused.value.status_code == 409
    assert order.number in str(refused.value.details)


def test_the_export_holds_the_customers_orders(lisbon, sneaker):
    from customers.services.privacy import build_export

    order = web_order(sneaker, lisbon)
    exported = build_export(order.customer)
    assert [o["number"] for o in exported["orders"]] == [order.number]


def test_the_360_page_shows_orders_loyalty_and_timeline(client, lisbon, sneaker):
    from customers.services.consent import record_consent
    from omni.models import Role
    from tests.factories import make_staff

    order = web_order(sneaker, lisbon)
    record_consent(customer=order.customer, channel="email", status="granted", form="checkout")
    boss = make_staff("boss", Role.ADMINISTRATOR)
    boss.is_superuser = True
    boss.save()
    client.force_login(boss)
    page = client.get(f"/admin/customers/customer/{order.customer.pk}/360/")
    assert page.status_code == 200
    html = page.content.decode()
    assert order.number in html
    assert "80 points" in html
    assert "Email consent granted" in html


def test_the_customer_api_shows_the_loyalty_balance(lisbon, sneaker, token_client):
    order = web_order(sneaker, lisbon)
    _, plain = make_token([Scope.CUSTOMERS_READ])
    body = token_client(plain).get(f"/api/v1/customers/{order.customer.public_id}/").json()
    assert body["loyalty"] == {"balance": 80, "tier": "bronze"}
