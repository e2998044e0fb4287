"""Recommendations: bought together across channels, category best-sellers, never what the
customer owns, in-stock first; and the API that serves them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.recommendations import recommend_for
from inventory.models import Category
from tests.campaigns.factories import CustomerFactory
from tests.factories import LocationFactory, make_token
from tests.inventory.factories import ProductFactory, SkuFactory, StockLevelFactory
from tests.orders.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def store():
    return LocationFactory(code="lisbon", name="Lisbon Chiado")


def product(name, store, *, stock=5, category=None, sizes=("M",)):
    made = ProductFactory(name=name, slug=name.lower().replace(" ", "-"), category=category)
    skus = [
        SkuFactory(product=made, code=f"{made.slug}-{size}", price=Decimal("50.00"))
        for size in sizes
    ]
    for sku in skus:
        StockLevelFactory(location=store, sku=sku, on_hand=stock)
    return made


def basket(customer, *products, channel="web", days_ago=5, status="fulfilled"):
    order = OrderFactory(
        customer=customer,
        channel=channel,
        status=status,
        placed_at=NOW - timedelta(days=days_ago),
    )
    for item in products:
        OrderLineFactory(order=order, sku=item.skus.first(), quantity=1)
    return order


def names(recommendations):
    return [item.name for item in recommendations]


def test_bought_together_comes_first_and_owned_products_never_appear(store):
    outdoor = Category.objects.create(name="Outdoor", slug="outdoor")
    jacket = product("Rain jacket", store, category=outdoor, sizes=("M", "L"))
    trousers = product("Trail trousers", store, category=outdoor)
    gloves = product("Wool gloves", store)
    tent = product("Tent", store, category=outdoor)
    others = [CustomerFactory(first_name=name) for name in ("Rui", "Eva", "Leo", "Ines")]
    # Across channels: the web shop, the app and a till.
    basket(others[0], jacket, trousers, channel="web")
    basket(others[1], jacket, trousers, channel="store")
    basket(others[2], jacket, gloves, channel="app")
    basket(others[3], tent)
    basket(others[3], tent)
    ana = CustomerFactory()
    # Ana bought the jacket in size M at the till; size L is the same product.
    basket(ana, jacket, channel="store")

    found = recommend_for(ana, limit=4, now=NOW)

    assert names(found)[:2] == ["Trail trousers", "Wool gloves"]
    assert found[0].reason == "bought_together"
    assert found[0].score == 2
    assert "Tent" in names(found)
    assert "Rain jacket" not in names(found)


def test_in_stock_products_come_before_out_of_stock_ones(store):
    jacket = product("Rain jacket", store)
    trousers = product("Trail trousers", store, stock=0)
    gloves = product("Wool gloves", store)
    rui, eva = CustomerFactory(first_name="Rui"), CustomerFactory(first_name="Eva")
    basket(rui, jacket, trousers)
    basket(eva, jacket, trousers)
    basket(eva, jacket, gloves)
    ana = CustomerFactory()
    basket(ana, jacket)

    found = recommend_for(ana, limit=2, now=NOW)

    assert names(found) == ["Wool gloves", "Trail trousers"]
    assert found[0].in_stock
    assert not found[1].in_stock


def test_a_customer_who_owns_everything_sold_gets_nothing(store):
    jacket = product("Rain jacket", store)
    trousers = product("Trail trousers", store)
    basket(CustomerFactory(first_name="Rui"), jacket, trousers)
    ana = CustomerFactory()
    basket(ana, jacket, trousers, channel="store")

    assert recommend_for(ana, now=NOW) == []


def test_cancelled_orders_neither_count_as_owned_nor_as_bought_together(store):
    jacket = product("Rain jacket", store)
    trousers = product("Trail trousers", store)
    basket(CustomerFactory(first_name="Rui"), jacket, trousers, status="cancelled")
    ana = CustomerFactory()
    basket(ana, trousers, status="cancelled")
    basket(ana, jacket)

    found = recommend_for(ana, now=NOW)

    # Cancelled lines sold nothing: the trousers are neither owned nor a best-seller.
    assert found == []


# --- API ------------------------------------------------------------------------------------


@pytest.fixture
def shop_data(store):
    jacket = product("Rain jacket", store)
    trousers = product("Trail trousers", store)
    basket(CustomerFactory(first_name="Rui"), jacket, trousers)
    ana = CustomerFactory()
    basket(ana, jacket)
    return ana


@pytest.mark.parametrize("scope", ["customers:read", "campaigns:read"])
def test_the_api_serves_recommendations_with_either_read_scope(token_client, shop_data, scope):
    _, plain = make_token([scope], name="Web shop")

    response = token_client(plain).get(
        f"/api/v1/customers/{shop_data.public_id}/recommendations/?limit=3"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["customer"] == str(shop_data.public_id)
    assert [item["name"] for item in body["results"]] == ["Trail trousers"]
    assert body["results"][0]["reason"] == "bought_together"
    assert body["results"][0]["in_stock"] is True


def test_the_api_needs_a_read_scope(token_client, shop_data):
    _, plain = make_token(["stock:read"], name="Stock only")

    response = token_client(plain).get(f"/api/v1/customers/{shop_data.public_id}/recommendations/")

    assert response.status_code == 403
    assert "error" in response.json()


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/customers/{id}/recommendations/?limit=abc", 400, "bad_request"),
        ("/api/v1/customers/{id}/recommendations/?limit=0", 400, "bad_request"),
        ("/api/v1/customers/{id}/recommendations/?limit=500", 400, "bad_request"),
        ("/api/v1/customers/not-a-uuid/recommendations/", 400, "bad_request"),
        (
            "/api/v1/customers/00000000-0000-0000-0000-000000000000/recommendations/",
            404,
            "customer_not_found",
        ),
    ],
)
def test_bad_requests_get_the_error_shape(token_client, shop_data, path, status, code):
    _, plain = make_token(["campaigns:read"], name="Reports")

    response = token_client(plain).get(path.format(id=shop_data.public_id))

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
