"""The orders API: checkout, orders, pickups and shipping steps, store scoping, scopes and
idempotency, with the one error shape."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Location, Reservation, StockLevel
from omni.models import Role
from orders.models import Fulfilment, Order, OrderEvent
from tests.factories import LocationFactory, make_staff, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches

pytestmark = pytest.mark.django_db
S = Fulfilment.Status


@pytest.fixture
def lisbon():
    return LocationFactory(
        code="lisbon-chiado",
        name="Lisbon Chiado",
        offers_click_and_collect=True,
        offers_curbside=True,
        pickup_hold_days=5,
        latitude=Decimal("38.71"),
        longitude=Decimal("-9.14"),
    )


@pytest.fixture
def porto():
    return LocationFactory(
        code="porto-baixa",
        name="Porto Baixa",
        offers_click_and_collect=False,
        latitude=Decimal("41.15"),
        longitude=Decimal("-8.61"),
    )


@pytest.fixture
def warehouse():
    return LocationFactory(
        code="warehouse-central",
        name="Central warehouse",
        kind=Location.Kind.WAREHOUSE,
        ships_to_customers=True,
        latitude=Decimal("40.0"),
        longitude=Decimal("-3.6"),
    )


@pytest.fixture
def sneaker(lisbon, porto, warehouse):
    sku = SkuFactory(code="SNK-AURA-BLK-42", price="80.00")
    StockLevelFactory(location=lisbon, sku=sku, on_hand=3)
    StockLevelFactory(location=porto, sku=sku, on_hand=2)
    StockLevelFactory(location=warehouse, sku=sku, on_hand=10)
    return sku


@pytest.fixture
def web_shop(token_client):
    _, plain = make_token(["orders:read", "orders:write"], name="Web shop")
    return token_client(plain)


def checkout_body(sku, method="click_and_collect", store="lisbon-chiado", **extra):
    body = {
        "channel": "app",
        "email": "ana@example.com",
        "first_name": "Ana",
        "lines": [{"sku": sku.code, "quantity": 1}],
        "delivery": {"method": method},
    }
    if method != "ship":
        body["delivery"]["pickup_location"] = store
    body.update(extra)
    return body


def place(client, body, key="checkout-1"):
    return client.post("/api/v1/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def step(client, order_number, part_id, name, body=None):
    return client.post(
        f"/api/v1/orders/{order_number}/fulfilments/{part_id}/{name}/", body or {}, format="json"
    )


def placed_pickup(client, sku, **extra):
    response = place(client, checkout_body(sku, **extra))
    assert response.status_code == 201, response.json()
    order = response.json()
    return order["number"], order["fulfilments"][0]["id"]


# --- Checkout ----------------------------------------------------------------------------


def test_an_app_order_for_pickup_in_lisbon_is_placed_with_money_as_strings(web_shop, sneaker):
    response = place(web_shop, checkout_body(sneaker))
    assert response.status_code == 201
    order = response.json()
    assert order["number"].startswith("OM-")
    assert order["sales_channel"] == "app"
    assert order["order_status"] == "allocated"
    assert (order["total"], order["tax_total"], order["currency"]) == ("80.00", "14.96", "EUR")
    assert order["lines"][0]["sku"] == sneaker.code
    pickup = order["fulfilments"][0]
    assert (pickup["delivery_method"], pickup["location"]) == ("click_and_collect", "lisbon-chiado")
    assert pickup["fulfilment_status"] == "allocated"
    assert [event["kind"] for event in order["events"]] == ["order.placed"]
    assert StockLevel.objects.get(location__code="lisbon-chiado", sku=sneaker).reserved == 1


def test_replaying_a_checkout_with_the_same_key_places_one_order(web_shop, sneaker):
    first = place(web_shop, checkout_body(sneaker), key="web-7781")
    again = place(web_shop, checkout_body(sneaker), key="web-7781")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1
    assert Reservation.objects.count() == 1


def test_a_checkout_without_an_idempotency_key_is_refused_and_writes_nothing(web_shop, sneaker):
    response = web_shop.post("/api/v1/checkout/", checkout_body(sneaker), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert not Order.objects.exists()


def test_an_unknown_sku_is_refused_with_its_code_and_writes_nothing(web_shop, sneaker):
    body = checkout_body(sneaker)
    body["lines"].append({"sku": "NO-SUCH-SKU", "quantity": 1})
    response = place(web_shop, body)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_sku"
    assert error["details"] == {"skus": ["NO-SUCH-SKU"]}
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()


def test_pickup_at_a_store_that_does_not_offer_it_is_422_and_writes_nothing(web_shop, sneaker):
    response = place(web_shop, checkout_body(sneaker, store="porto-baixa"))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "location_cannot_fulfil"
    assert response.json()["error"]["details"]["location"] == "porto-baixa"
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()


def test_bad_checkout_input_names_the_fields(web_shop, sneaker):
    body = {"channel": "fax", "lines": [], "delivery": {"method": "teleport"}}
    response = place(web_shop, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert {"channel", "lines", "delivery"} <= set(error["details"])
    assert not Order.objects.exists()


def test_an_unknown_pickup_store_is_a_field_error(web_shop, sneaker):
    response = place(web_shop, checkout_body(sneaker, store="atlantis"))
    assert response.status_code == 400
    assert "pickup_location" in response.json()["error"]["details"]["delivery"]


def test_more_than_is_available_anywhere_is_409_with_availability(web_shop, sneaker):
    body = checkout_body(sneaker, method="ship")
    body["lines"][0]["quantity"] = 50
    response = place(web_shop, body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    assert not Order.objects.exists()
    assert_ledger_matches()


# --- Pickup steps ------------------------------------------------------------------------


def test_lisbon_marks_a_pickup_ready_and_hands_it_over_against_the_code(
    api_client, web_shop, sneaker, lisbon
):
    number, part = placed_pickup(web_shop, sneaker)
    ana = make_staff("ana", Role.STORE_ASSOCIATE, [lisbon])
    api_client.force_login(ana)

    ready = step(api_client, number, part, "ready")
    assert ready.status_code == 200
    pickup = ready.json()["fulfilments"][0]
    assert pickup["fulfilment_status"] == "ready_for_pickup"
    assert pickup["pickup_deadline"] is not None
    code = Fulfilment.objects.get(pk=part).pickup_code

    wrong = step(
        api_client, number, part, "collect", {"code": "999999" if code != "999999" else "1"}
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "wrong_pickup_code"
    assert Fulfilment.objects.get(pk=part).status == S.READY_FOR_PICKUP

    collected = step(api_client, number, part, "collect", {"code": code})
    assert collected.status_code == 200
    assert collected.json()["order_status"] == "fulfilled"
    again = step(api_client, number, part, "collect", {"code": code})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    assert StockLevel.objects.get(location=lisbon, sku=sneaker).on_hand == 2
    assert_ledger_matches()


def test_collecting_without_a_code_is_a_field_error(api_client, web_shop, sneaker, lisbon):
    number, part = placed_pickup(web_shop, sneaker)
    api_client.force_login(make_staff("ana", Role.STORE_ASSOCIATE, [lisbon]))
    step(api_client, number, part, "ready")
    response = step(api_client, number, part, "collect", {})
    assert response.status_code == 400
    assert "code" in response.json()["error"]["details"]


def test_the_app_checks_in_at_the_curb_and_the_store_sees_it(web_shop, sneaker, lisbon):
    number, part = placed_pickup(web_shop, sneaker, method="curbside")
    too_early = step(web_shop, number, part, "check-in", {"note": "bay 3"})
    assert too_early.status_code == 409
    step(web_shop, number, part, "ready")
    arrived = step(web_shop, number, part, "check-in", {"note": "bay 3, red Fiat 500"})
    assert arrived.status_code == 200
    pickup = arrived.json()["fulfilments"][0]
    assert pickup["arrival_note"] == "bay 3, red Fiat 500"
    assert pickup["arrived_at"] is not None


def test_a_porto_clerk_cannot_open_or_touch_a_lisbon_order(api_client, web_shop, sneaker, porto):
    number, part = placed_pickup(web_shop, sneaker)
    api_client.force_login(make_staff("rita", Role.STORE_ASSOCIATE, [porto]))
    assert api_client.get(f"/api/v1/orders/{number}/").status_code == 404
    assert api_client.get("/api/v1/orders/").json()["count"] == 0
    response = step(api_client, number, part, "ready")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Fulfilment.objects.get(pk=part).status == S.ALLOCATED


def test_a_lisbon_register_token_sees_lisbon_orders_only(token_client, web_shop, sneaker, lisbon):
    number, _ = placed_pickup(web_shop, sneaker)
    _, lisbon_plain = make_token(["orders:read"], locations=[lisbon], name="Lisbon till")
    porto = Location.objects.get(code="porto-baixa")
    _, porto_plain = make_token(["orders:read"], locations=[porto], name="Porto till")
    assert token_client(lisbon_plain).get(f"/api/v1/orders/{number}/").status_code == 200
    assert token_client(porto_plain).get(f"/api/v1/orders/{number}/").status_code == 404


def test_an_order_placed_in_porto_for_lisbon_pickup_is_seen_by_porto_but_not_readied(
    api_client, token_client, sneaker, porto, lisbon
):
    _, porto_till = make_token(["orders:read", "orders:write"], locations=[porto], name="Porto")
    till = token_client(porto_till)
    response = place(till, checkout_body(sneaker, channel="store"))
    assert response.status_code == 201
    order = response.json()
    assert order["location"] == "porto-baixa"
    assert till.get(f"/api/v1/orders/{order['number']}/").status_code == 200
    refused = step(till, order["number"], order["fulfilments"][0]["id"], "ready")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "location_not_allowed"


def test_a_token_without_the_orders_scope_is_403(token_client, web_shop, sneaker):
    _, plain = make_token(["stock:read"], name="Stock reader")
    client = token_client(plain)
    assert client.get("/api/v1/orders/").status_code == 403
    response = place(client, checkout_body(sneaker))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    _, reader = make_token(["orders:read"], name="Reader")
    assert place(token_client(reader), checkout_body(sneaker)).status_code == 403
    assert not Order.objects.exists()


# --- Shipping and cancelling -------------------------------------------------------------


def test_a_web_order_is_picked_packed_shipped_and_delivered(web_shop, sneaker, warehouse):
    response = place(web_shop, checkout_body(sneaker, method="ship", channel="web"))
    order = response.json()
    number, part = order["number"], order["fulfilments"][0]["id"]
    assert order["fulfilments"][0]["location"] == "warehouse-central"
    assert step(web_shop, number, part, "pick").status_code == 200
    assert step(web_shop, number, part, "pack").status_code == 200
    bad = step(web_shop, number, part, "ship", {"carrier": "CTT"})
    assert bad.status_code == 400
    shipped = step(web_shop, number, part, "ship", {"carrier": "CTT", "tracking_number": "RR1PT"})
    assert shipped.json()["fulfilments"][0]["tracking_number"] == "RR1PT"
    delivered = step(web_shop, number, part, "deliver")
    assert delivered.json()["order_status"] == "fulfilled"
    assert StockLevel.objects.get(location=warehouse, sku=sneaker).on_hand == 9
    assert_ledger_matches()


def test_a_pickup_cannot_be_packed(web_shop, sneaker):
    number, part = placed_pickup(web_shop, sneaker)
    response = step(web_shop, number, part, "pack")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_a_shipment"
    assert Fulfilment.objects.get(pk=part).status == S.ALLOCATED


def test_cancelling_an_order_releases_its_stock(web_shop, sneaker, lisbon):
    number, _ = placed_pickup(web_shop, sneaker)
    no_reason = web_shop.post(f"/api/v1/orders/{number}/cancel/", {}, format="json")
    assert no_reason.status_code == 400
    response = web_shop.post(
        f"/api/v1/orders/{number}/cancel/", {"reason": "customer asked"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["order_status"] == "cancelled"
    assert StockLevel.objects.get(location=lisbon, sku=sneaker).reserved == 0
    assert_ledger_matches()


# --- Lists -------------------------------------------------------------------------------


def test_orders_filter_by_channel_location_customer_and_placed_range(web_shop, sneaker):
    app_order = place(web_shop, checkout_body(sneaker), key="a").json()
    web_order = place(
        web_shop,
        checkout_body(sneaker, method="ship", channel="web", email="rui@example.com"),
        key="b",
    ).json()

    def numbers(query):
        response = web_shop.get(f"/api/v1/orders/?{query}")
        assert response.status_code == 200, response.json()
        return {row["number"] for row in response.json()["results"]}

    assert numbers("channel=app") == {app_order["number"]}
    assert numbers("location=warehouse-central") == {web_order["number"]}
    assert numbers(f"customer={app_order['customer']}") == {app_order["number"]}
    assert numbers(f"number={web_order['number'].lower()}") == {web_order["number"]}
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert numbers(f"placed_after={tomorrow}T00:00:00Z") == set()
    assert len(numbers("status=allocated")) == 2
    assert web_shop.get("/api/v1/orders/?channel=fax").status_code == 400


def test_the_order_detail_lists_events_with_who_did_them(api_client, web_shop, sneaker, lisbon):
    number, part = placed_pickup(web_shop, sneaker)
    api_client.force_login(make_staff("ana", Role.STORE_ASSOCIATE, [lisbon]))
    step(api_client, number, part, "ready")
    events = api_client.get(f"/api/v1/orders/{number}/").json()["events"]
    assert events[-1]["kind"] == "fulfilment.ready_for_pickup"
    assert events[-1]["actor"] == "user:ana"
    assert events[0]["actor"] == "token:Web shop"
    assert OrderEvent.objects.count() == len(events)


def test_a_pickup_waiting_for_a_transfer_is_shipped_received_and_made_ready(
    token_client, web_shop, lisbon, warehouse
):
    boots = SkuFactory(code="BOT-DOU-BLK-42", price="149.00")
    StockLevelFactory(location=warehouse, sku=boots, on_hand=2)
    number, part = placed_pickup(web_shop, boots)
    assert Fulfilment.objects.get(pk=part).status == S.AWAITING_TRANSFER
    _, lisbon_plain = make_token(["orders:write", "orders:read"], locations=[lisbon], name="L")
    _, depot_plain = make_token(["orders:write", "orders:read"], locations=[warehouse], name="W")
    lisbon_desk, depot = token_client(lisbon_plain), token_client(depot_plain)

    not_here = step(lisbon_desk, number, part, "transfer/ship")
    assert not_here.status_code == 403
    assert step(depot, number, part, "transfer/ship").status_code == 200
    assert step(depot, number, part, "transfer/receive").status_code == 403
    received = step(lisbon_desk, number, part, "transfer/receive")
    assert received.status_code == 200
    assert received.json()["fulfilments"][0]["fulfilment_status"] == "allocated"
    assert step(lisbon_desk, number, part, "ready").status_code == 200
    assert StockLevel.objects.get(location=lisbon, sku=boots).reserved == 1
    assert StockLevel.objects.get(location=warehouse, sku=boots).on_hand == 1
    assert_ledger_matches()


def test_every_orders_endpoint_is_in_the_schema_with_its_error_shape():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for path in [
        "/api/v1/checkout/",
        "/api/v1/carts/",
        "/api/v1/carts/merge/",
        "/api/v1/orders/",
        "/api/v1/orders/{number}/",
        "/api/v1/orders/{number}/fulfilments/{id}/collect/",
        "/api/v1/orders/{number}/fulfilments/{id}/check-in/",
        "/api/v1/discount-codes/validate/",
        "/api/v1/gift-cards/{number}/",
        "/api/v1/sales/",
        "/api/v1/returns/",
        "/api/v1/returns/lookup/",
        "/api/v1/returns/{number}/refund/",
    ]:
        assert path in paths, path
    checkout = paths["/api/v1/checkout/"]["post"]
    assert {"201", "400", "403", "409", "422"} <= set(checkout["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in checkout["parameters"])


def test_a_checkout_line_may_ship_while_the_rest_is_collected(token_client):
    from decimal import Decimal as D

    from inventory.models import Location
    from omni.models import Scope
    from tests.factories import LocationFactory, make_token
    from tests.inventory.factories import SkuFactory, StockLevelFactory

    store = LocationFactory(code="lisbon-mix", offers_click_and_collect=True)
    depot = LocationFactory(code="depot-mix", kind=Location.Kind.WAREHOUSE, ships_to_customers=True)
    shoe, sock = SkuFactory(code="SHOE-MIX", price=D("50.00")), SkuFactory(code="SOCK-MIX")
    StockLevelFactory(location=store, sku=shoe, on_hand=1)
    StockLevelFactory(location=depot, sku=sock, on_hand=3)
    _, plain = make_token([Scope.ORDERS_WRITE, Scope.ORDERS_READ], name="Web shop mix")
    response = token_client(plain).post(
        "/api/v1/checkout/",
        {
            "channel": "web",
            "email": "mix@example.com",
            "lines": [
                {"sku": "SHOE-MIX", "quantity": 1},
                {"sku": "SOCK-MIX", "quantity": 2, "delivery": {"method": "ship"}},
            ],
            "delivery": {"method": "click_and_collect", "pickup_location": "lisbon-mix"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="mix-1",
    )
    assert response.status_code == 201, response.content
    methods = sorted(part["delivery_method"] for part in response.json()["fulfilments"])
    assert methods == ["click_and_collect", "ship"]
