"""Till sales and returns anywhere, over the API."""

from decimal import Decimal

import pytest

from inventory.models import Location, StockLevel
from omni.models import Role
from orders.models import Order, Refund, Return
from tests.factories import LocationFactory, make_staff, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches

pytestmark = pytest.mark.django_db


@pytest.fixture
def lisbon():
    return LocationFactory(code="lisbon-chiado", name="Lisbon Chiado", accepts_returns=True)


@pytest.fixture
def porto():
    return LocationFactory(code="porto-baixa", name="Porto Baixa", accepts_returns=True)


@pytest.fixture
def warehouse():
    return LocationFactory(
        code="warehouse-central",
        kind=Location.Kind.WAREHOUSE,
        ships_to_customers=True,
        accepts_returns=True,
    )


@pytest.fixture
def tee(lisbon, porto, warehouse):
    sku = SkuFactory(code="TEE-ESS-WHT-M", price="25.00")
    for place in (lisbon, porto, warehouse):
        StockLevelFactory(location=place, sku=sku, on_hand=4)
    return sku


@pytest.fixture
def lisbon_till(token_client, lisbon):
    _, plain = make_token(
        ["sales:write", "orders:read", "returns:write"], locations=[lisbon], name="Lisbon till 1"
    )
    return token_client(plain)


def sale_body(sku, reference="T1-0001", **extra):
    return {
        "client_reference": reference,
        "lines": [{"sku": sku.code, "quantity": 2}],
        "payments": [{"method": "card", "amount": "50.00", "external_reference": "auth-1"}],
        **extra,
    }


def post_sale(client, body, key="sale-1"):
    return client.post("/api/v1/sales/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_till_sale_is_recorded_at_the_registers_store(lisbon_till, tee, lisbon):
    response = post_sale(lisbon_till, sale_body(tee))
    assert response.status_code == 201
    body = response.json()
    assert body["replayed"] is False
    order = body["order"]
    assert (order["sales_channel"], order["location"], order["order_status"]) == (
        "store",
        "lisbon-chiado",
        "completed",
    )
    assert order["total"] == "50.00"
    assert StockLevel.objects.get(location=lisbon, sku=tee).on_hand == 2
    assert_ledger_matches()


def test_the_same_sale_posted_again_under_a_new_key_is_recorded_once(lisbon_till, tee, lisbon):
    post_sale(lisbon_till, sale_body(tee), key="first")
    again = post_sale(lisbon_till, sale_body(tee), key="offline-retry")
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(location=lisbon, sku=tee).on_hand == 2


def test_a_sale_without_an_idempotency_key_or_at_another_store_is_refused(lisbon_till, tee, porto):
    missing = lisbon_till.post("/api/v1/sales/", sale_body(tee), format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"
    elsewhere = post_sale(lisbon_till, sale_body(tee, location="porto-baixa"))
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"]["code"] == "location_not_allowed"
    assert not Order.objects.exists()


def test_a_sale_needs_the_sales_scope(token_client, tee, lisbon):
    _, plain = make_token(["orders:write"], locations=[lisbon], name="Not a till")
    response = post_sale(token_client(plain), sale_body(tee))
    assert response.status_code == 403
    assert not Order.objects.exists()


def test_an_unknown_sku_on_a_sale_is_refused_and_nothing_is_written(lisbon_till, tee):
    body = sale_body(tee)
    body["lines"][0]["sku"] = "GHOST-1"
    response = post_sale(lisbon_till, body)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_sku"
    assert not Order.objects.exists()


# --- Returns -----------------------------------------------------------------------------


@pytest.fixture
def web_order(tee, warehouse):
    """Ana's web order, shipped from the warehouse and delivered."""
    from orders.services.checkout import (
        CheckoutRequest,
        Delivery,
        LineRequest,
        PaymentRequest,
        place_order,
    )
    from orders.services.fulfilment import (
        deliver_fulfilment,
        pack_fulfilment,
        pick_fulfilment,
        ship_fulfilment,
    )

    order = place_order(
        request=CheckoutRequest(
            channel="web",
            email="ana@example.com",
            lines=[LineRequest(tee.code, 2)],
            delivery=Delivery(method="ship"),
            payments=[PaymentRequest("card", Decimal("50.00"), "psp-1", True)],
        )
    )
    part = order.fulfilments.get()
    pick_fulfilment(fulfilment=part)
    pack_fulfilment(fulfilment=part)
    ship_fulfilment(fulfilment=part, carrier="CTT", tracking_number="RR1")
    deliver_fulfilment(fulfilment=part)
    return order


def start(client, order, quantity=1, key="return-1", **extra):
    line = order.lines.get()
    body = {"order": order.number, "lines": [{"order_line": line.pk, "quantity": quantity}]}
    body.update(extra)
    return client.post("/api/v1/returns/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_web_order_is_returned_in_lisbon_and_the_unit_is_back_on_hand_there(
    lisbon_till, web_order, tee, lisbon
):
    found = lisbon_till.get("/api/v1/returns/lookup/?q=ana@example.com")
    assert found.status_code == 200
    [order] = found.json()
    assert order["number"] == web_order.number
    assert order["lines"][0]["returnable_quantity"] == 2
    assert order["lines"][0]["verdict"]["allowed"] is True

    started = start(lisbon_till, web_order)
    assert started.status_code == 201
    returned = started.json()
    assert (returned["return_status"], returned["location"]) == ("received", "lisbon-chiado")
    number = returned["number"]
    line_id = returned["lines"][0]["id"]

    inspected = lisbon_till.post(
        f"/api/v1/returns/{number}/inspect/",
        {"lines": [{"line": line_id, "condition": "resellable"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="inspect-1",
    )
    assert inspected.status_code == 200
    assert StockLevel.objects.get(location=lisbon, sku=tee).on_hand == 5

    refunded = lisbon_till.post(
        f"/api/v1/returns/{number}/refund/",
        {"refund_method": "original_payment"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="refund-1",
    )
    assert refunded.status_code == 200
    body = refunded.json()
    assert (body["return_status"], body["refund_total"]) == ("refunded", "25.00")
    assert body["refunds"][0]["amount"] == "25.00"
    again = lisbon_till.post(
        f"/api/v1/returns/{number}/refund/",
        {"refund_method": "original_payment"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="refund-2",
    )
    assert again.status_code == 409
    assert Refund.objects.count() == 1
    assert_ledger_matches()


def test_returning_more_than_bought_is_422_and_writes_nothing(lisbon_till, web_order):
    response = start(lisbon_till, web_order, quantity=3)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "return_not_allowed"
    assert not Return.objects.exists()


def test_a_line_of_another_order_is_refused(lisbon_till, web_order):
    body = {"order": web_order.number, "lines": [{"order_line": 999999, "quantity": 1}]}
    response = lisbon_till.post(
        "/api/v1/returns/", body, format="json", HTTP_IDEMPOTENCY_KEY="bad-line"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "line_not_in_order"
    assert not Return.objects.exists()


def test_a_return_needs_an_idempotency_key(lisbon_till, web_order):
    line = web_order.lines.get()
    body = {"order": web_order.number, "lines": [{"order_line": line.pk, "quantity": 1}]}
    response = lisbon_till.post("/api/v1/returns/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


def test_a_porto_clerk_does_not_see_a_return_received_in_lisbon(
    api_client, lisbon_till, web_order, porto
):
    number = start(lisbon_till, web_order).json()["number"]
    api_client.force_login(make_staff("rita", Role.STORE_ASSOCIATE, [porto]))
    assert api_client.get(f"/api/v1/returns/{number}/").status_code == 404
    response = api_client.post(
        f"/api/v1/returns/{number}/refund/",
        {"refund_method": "store_credit"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="x",
    )
    assert response.status_code == 404
    assert Return.objects.get().status == Return.Status.RECEIVED


def test_the_return_lookup_needs_the_returns_scope(token_client, web_order):
    _, plain = make_token(["orders:read"], name="Reader")
    response = token_client(plain).get("/api/v1/returns/lookup/?q=ana@example.com")
    assert response.status_code == 403


def test_an_exchange_over_the_api_places_the_new_order_paid_by_the_refund(
    lisbon_till, web_order, tee, lisbon
):
    Location.objects.filter(pk=lisbon.pk).update(offers_click_and_collect=True)
    other_size = SkuFactory(code="TEE-ESS-WHT-L", price="25.00")
    StockLevelFactory(location=lisbon, sku=other_size, on_hand=1)
    returned = start(lisbon_till, web_order).json()
    lisbon_till.post(
        f"/api/v1/returns/{returned['number']}/inspect/",
        {"lines": [{"line": returned["lines"][0]["id"], "condition": "resellable"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="inspect-x",
    )
    missing = lisbon_till.post(
        f"/api/v1/returns/{returned['number']}/refund/",
        {"refund_method": "exchange"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="refund-x0",
    )
    assert missing.status_code == 400
    exchanged = lisbon_till.post(
        f"/api/v1/returns/{returned['number']}/refund/",
        {
            "refund_method": "exchange",
            "exchange": {
                "lines": [{"sku": other_size.code, "quantity": 1}],
                "delivery": {"method": "click_and_collect", "pickup_location": "lisbon-chiado"},
            },
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="refund-x1",
    )
    assert exchanged.status_code == 200, exchanged.content
    assert Return.objects.get(number=returned["number"]).exchange_order.total == Decimal("25.00")
    assert StockLevel.objects.get(location=lisbon, sku=other_size).reserved == 1
