"""The hot endpoints answer in a fixed number of queries, whatever the page size or the
number of SKUs, lines or locations involved: a count that grows with the data is an N+1."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Location, StockDiscrepancy
from orders.models import Order
from tests.customers.factories import CustomerFactory, EmailFactory
from tests.factories import LocationFactory, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches
from tests.orders.factories import FulfilmentFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def queries(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return len(captured), response


@pytest.fixture
def stores():
    places = [
        LocationFactory(
            code=f"store-{number}",
            offers_click_and_collect=True,
            latitude=Decimal("38.7") + number,
            longitude=Decimal("-9.1"),
        )
        for number in range(6)
    ]
    places.append(
        LocationFactory(code="warehouse", kind=Location.Kind.WAREHOUSE, ships_to_customers=True)
    )
    return places


@pytest.fixture
def skus(stores):
    made = [SkuFactory(code=f"TEE-{number:02d}", price="20.00") for number in range(12)]
    for sku in made:
        for place in stores:
            StockLevelFactory(location=place, sku=sku, on_hand=50)
    return made


@pytest.fixture
def stock_reader(token_client):
    client = token_client(make_token(["stock:read"], name="Availability")[1])
    return client


def test_bulk_availability_costs_the_same_for_one_sku_or_twelve(stock_reader, skus):
    def ask(count):
        codes = ",".join(sku.code for sku in skus[:count])
        return queries(lambda: stock_reader.get(f"/api/v1/availability/?skus={codes}"))

    ask(1)  # the token's first use is recorded once; the process loads the locations
    one, response = ask(1)
    twelve, response = ask(12)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 12
    # the SKUs, the stock levels, stock in transit; the token is cached and the locations
    # are the process's copy
    assert one == twelve == 3


def test_one_skus_availability_at_every_place_is_three_queries(stock_reader, skus, stores):
    stock_reader.get(f"/api/v1/availability/{skus[0].code}/")
    count, response = queries(lambda: stock_reader.get(f"/api/v1/availability/{skus[0].code}/"))
    assert response.status_code == 200
    assert len(response.json()["locations"]) == len(stores)
    assert count == 3


def test_a_stock_level_page_costs_the_same_at_any_page_size(stock_reader, skus):
    stock_reader.get("/api/v1/stock-levels/?page_size=1")
    small, _ = queries(lambda: stock_reader.get("/api/v1/stock-levels/?page_size=1"))
    large, response = queries(lambda: stock_reader.get("/api/v1/stock-levels/?page_size=50"))
    assert len(response.json()["results"]) == 50
    # the count, the page (the token is cached)
    assert small == large == 2


def sale(skus, count, reference):
    return {
        "client_reference": reference,
        "lines": [{"sku": sku.code, "quantity": 1} for sku in skus[:count]],
        "payments": [{"method": "card", "amount": f"{20 * count}.00"}],
    }


def test_a_till_sale_adds_one_statement_per_line_and_nothing_else(token_client, stores, skus):
    till = token_client(make_token(["sales:write"], locations=[stores[0]])[1])

    def post(count, reference):
        return queries(
            lambda: till.post(
                "/api/v1/sales/",
                sale(skus, count, reference),
                format="json",
                HTTP_IDEMPOTENCY_KEY=reference,
            )
        )

    post(1, "warm-up")
    one, first = post(1, "T-1")
    eight, second = post(8, "T-8")
    assert (first.status_code, second.status_code) == (201, 201)
    # Each extra line is its stock movement (one statement writing the level and the
    # ledger row); the lines, the order and the stock rows are read and written in bulk.
    # One line: the idempotency lock with its record read (one statement) and the record's
    # write, the SKUs, the order with its fulfilment, lines, payments and event, the stock
    # claim, the stock row lock, the movement, and the savepoints around the write.
    assert eight - one == 7
    assert one <= 11


def test_a_sale_of_skus_never_stocked_at_the_store_creates_their_rows_in_one_go(token_client, skus):
    fresh = LocationFactory(code="pop-up")
    till = token_client(make_token(["sales:write"], locations=[fresh])[1])
    body = sale(skus, 3, "P-1")
    response = till.post("/api/v1/sales/", body, format="json", HTTP_IDEMPOTENCY_KEY="P-1")
    assert response.status_code == 201
    assert fresh.stock_levels.count() == 3
    assert Order.objects.filter(location=fresh).count() == 1
    # sold with nothing on record: each line opened a discrepancy, on hand stays 0
    assert StockDiscrepancy.objects.filter(location=fresh).count() == 3
    assert set(fresh.stock_levels.values_list("on_hand", flat=True)) == {0}
    assert_ledger_matches()


def test_a_web_checkout_adds_one_statement_per_line(token_client, skus):
    shop = token_client(make_token(["orders:read", "orders:write"], name="Web")[1])

    def place(count, key):
        body = {
            "channel": "web",
            "email": f"{key}@example.com",
            "first_name": "Ana",
            "lines": [{"sku": sku.code, "quantity": 1} for sku in skus[:count]],
            "delivery": {"method": "ship"},
        }
        return queries(
            lambda: shop.post("/api/v1/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        )

    place(1, "warm-up")
    one, first = place(1, "one")
    eight, second = place(8, "eight")
    assert (first.status_code, second.status_code) == (201, 201)
    # each extra line is its reservation (one statement)
    assert eight - one == 7


def test_an_order_page_costs_the_same_at_any_page_size(token_client, stores, skus):
    for _ in range(30):
        order = OrderFactory(location=stores[0])
        part = FulfilmentFactory(order=order, location=stores[0])
        for sku in skus[:3]:
            OrderLineFactory(order=order, fulfilment=part, sku=sku)
    reader = token_client(make_token(["orders:read"], name="Back office")[1])
    reader.get("/api/v1/orders/?page_size=1")
    small, _ = queries(lambda: reader.get("/api/v1/orders/?page_size=1"))
    large, response = queries(lambda: reader.get("/api/v1/orders/?page_size=30"))
    assert len(response.json()["results"]) == 30
    assert small == large


def test_a_customer_lookup_and_a_customer_page_cost_a_fixed_number_of_queries(token_client):
    for number in range(30):
        EmailFactory(customer=CustomerFactory(), value=f"c{number}@example.com")
    reader = token_client(make_token(["customers:read"], name="CRM")[1])
    reader.get("/api/v1/customers/lookup/?email=c1@example.com")
    first, response = queries(lambda: reader.get("/api/v1/customers/lookup/?email=c3@example.com"))
    assert response.status_code == 200
    again, _ = queries(lambda: reader.get("/api/v1/customers/lookup/?email=c4@example.com"))
    assert first == again
    small, _ = queries(lambda: reader.get("/api/v1/customers/?page_size=1"))
    large, response = queries(lambda: reader.get("/api/v1/customers/?page_size=30"))
    assert len(response.json()["results"]) == 30
    assert small == large
