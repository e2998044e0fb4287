"""Availability: per SKU, nearby, per channel, in transit, in bulk, and the low-stock signal."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import selectors
from inventory.services import transfers
from omni.models import Scope
from tests.factories import make_staff, make_token
from tests.inventory.catalog_factories import CatalogSkuFactory, place, stock

pytestmark = pytest.mark.django_db

# Cascais, a short drive west of Lisbon.
CASCAIS = {"latitude": 38.6979, "longitude": -9.4215}


@pytest.fixture
def network():
    return {
        "lisbon": place("lisbon-chiado", offers_click_and_collect=True),
        "porto": place("porto-baixa", offers_click_and_collect=True),
        "madrid": place("madrid-salamanca"),  # sells in store only
        "berlin": place("berlin-mitte", offers_curbside=True),
        "warehouse": place("warehouse-central", ships_to_customers=True, sells_in_store=False),
    }


@pytest.fixture
def reader(token_client):
    _, plain = make_token([Scope.STOCK_READ], name="Web shop")
    return token_client(plain)


@pytest.fixture
def sneaker():
    return CatalogSkuFactory(code="SNK-AURA-BLK-42", barcode="4006381333931")


def test_a_sku_shows_its_stock_at_every_location_and_the_total(reader, network, sneaker):
    stock(network["lisbon"], sneaker, 3)
    stock(network["porto"], sneaker, 5, safety_stock=1)
    stock(network["warehouse"], sneaker, 20)
    body = reader.get(f"/api/v1/availability/{sneaker.code}/").json()
    assert body["available"] == 3 + 4 + 20
    assert body["status"] == "in_stock"
    by_place = {row["location"]: row["available"] for row in body["locations"]}
    assert by_place == {"lisbon-chiado": 3, "porto-baixa": 4, "warehouse-central": 20}
    assert body["price"] == "89.99"
    assert body["currency"] == "EUR"


def test_a_barcode_scan_finds_the_same_availability(reader, network, sneaker):
    stock(network["lisbon"], sneaker, 3)
    body = reader.get("/api/v1/availability/4006381333931/").json()
    assert body["sku"] == sneaker.code


def test_an_unknown_sku_is_404(reader, network):
    response = reader.get("/api/v1/availability/NOPE/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_nearby_stores_come_nearest_first_with_their_distance(reader, network, sneaker):
    for code in ("lisbon", "porto", "madrid", "berlin"):
        stock(network[code], sneaker, 2)
    response = reader.get(f"/api/v1/availability/{sneaker.code}/nearby/", CASCAIS)
    assert response.status_code == 200
    places = response.json()["locations"]
    assert [row["location"] for row in places] == [
        "lisbon-chiado",
        "porto-baixa",
        "madrid-salamanca",
        "berlin-mitte",
    ]
    assert 20 < places[0]["distance_km"] < 30
    assert places[1]["distance_km"] < places[2]["distance_km"] < places[3]["distance_km"]


def test_nearby_a_store_skips_places_without_stock_and_respects_the_limit(reader, network, sneaker):
    stock(network["porto"], sneaker, 2)
    stock(network["madrid"], sneaker, 0)
    stock(network["berlin"], sneaker, 1)
    body = reader.get(
        f"/api/v1/availability/{sneaker.code}/nearby/", {"near": "lisbon-chiado", "limit": 1}
    ).json()
    assert [row["location"] for row in body["locations"]] == ["porto-baixa"]


def test_nearby_needs_a_point_or_a_store(reader, network, sneaker):
    response = reader.get(f"/api/v1/availability/{sneaker.code}/nearby/")
    assert response.status_code == 400


def test_the_web_shop_sells_ship_from_and_pickup_stock_but_not_a_store_only_shelf(network, sneaker):
    stock(network["lisbon"], sneaker, 1)  # click and collect
    stock(network["madrid"], sneaker, 7)  # sells in store only
    stock(network["berlin"], sneaker, 2)  # curbside
    stock(network["warehouse"], sneaker, 4)  # ships
    [web] = selectors.availability([sneaker], channel=selectors.Channel.WEB)
    assert web.available == 1 + 2 + 4
    [ship] = selectors.availability([sneaker], channel=selectors.Channel.SHIP)
    assert ship.available == 4
    [madrid] = selectors.availability(
        [sneaker], channel=selectors.Channel.STORE, location=network["madrid"]
    )
    assert madrid.available == 7


def test_the_store_channel_needs_a_location(reader, network, sneaker):
    response = reader.get(f"/api/v1/availability/{sneaker.code}/", {"channel": "store"})
    assert response.status_code == 400
    assert "location" in response.json()["error"]["details"]


def test_what_one_store_can_sell_now_excludes_reserved_and_safety_stock(reader, network, sneaker):
    stock(network["lisbon"], sneaker, 5, reserved=0, safety_stock=1)
    from inventory.models import StockLevel

    StockLevel.objects.filter(location=network["lisbon"], sku=sneaker).update(reserved=2)
    body = reader.get(
        f"/api/v1/availability/{sneaker.code}/",
        {"channel": "store", "location": "lisbon-chiado"},
    ).json()
    assert body["available"] == 2
    assert body["status"] == "low_stock"
    assert body["low_stock"] is True
    [row] = body["locations"]
    assert (row["on_hand"], row["reserved"]) == (5, 2)


@pytest.mark.parametrize(
    ("units", "status"), [(0, "out_of_stock"), (1, "low_stock"), (2, "low_stock"), (3, "in_stock")]
)
def test_only_two_left_is_a_low_stock_signal(network, sneaker, units, status):
    stock(network["lisbon"], sneaker, units)
    [entry] = selectors.availability([sneaker], location=network["lisbon"])
    assert entry.status == status
    assert entry.low_stock is (status == "low_stock")


def test_a_custom_threshold_moves_the_low_stock_signal(reader, network, sneaker):
    stock(network["lisbon"], sneaker, 4)
    body = reader.get(
        f"/api/v1/availability/{sneaker.code}/", {"location": "lisbon-chiado", "threshold": 5}
    ).json()
    assert body["status"] == "low_stock"


def test_stock_in_transit_shows_with_its_expected_date(network, sneaker):
    stock(network["warehouse"], sneaker, 6)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["porto"],
        lines=[transfers.LineRequest(sku=sneaker, quantity=4)],
    )
    transfers.pick_transfer(transfer=transfer)
    transfer = transfers.ship_transfer(transfer=transfer)
    [porto] = selectors.availability([sneaker], location=network["porto"])
    assert porto.available == 0
    assert porto.in_transit_quantity == 4
    assert porto.in_transit[0].expected_arrival == transfer.expected_arrival
    transfers.receive_transfer(transfer=transfer, received={sneaker.pk: 1})
    [porto] = selectors.availability([sneaker], location=network["porto"])
    assert (porto.available, porto.in_transit_quantity) == (1, 3)


def test_a_category_page_of_many_skus_costs_the_same_queries_as_one(network):
    few = [CatalogSkuFactory() for _ in range(2)]
    many = [CatalogSkuFactory() for _ in range(60)]
    for sku in [*few, *many]:
        stock(network["lisbon"], sku, 2)
        stock(network["warehouse"], sku, 5)
    with CaptureQueriesContext(connection) as first:
        selectors.availability(few, channel=selectors.Channel.WEB)
    with CaptureQueriesContext(connection) as small:
        selectors.availability(few, channel=selectors.Channel.WEB)
    with CaptureQueriesContext(connection) as large:
        result = selectors.availability(many, channel=selectors.Channel.WEB)
    # The first call loads the locations (all of them, then the channel's) for the process.
    assert len(first) == len(small) + 2
    assert len(large) == len(small) <= 2
    assert all(entry.available == 7 for entry in result)


def test_bulk_get_and_post_answer_for_many_skus_and_name_the_unknown(reader, network):
    skus = [CatalogSkuFactory() for _ in range(3)]
    for sku in skus:
        stock(network["lisbon"], sku, 1)
    codes = [sku.code for sku in skus]
    got = reader.get("/api/v1/availability/", {"skus": ",".join([*codes, "GHOST"])}).json()
    posted = reader.post("/api/v1/availability/bulk/", {"skus": [*codes, "GHOST"]}).json()
    assert got == posted
    assert [row["sku"] for row in got["results"]] == codes
    assert got["unknown"] == ["GHOST"]


def test_a_bulk_request_over_500_skus_is_refused(reader, network):
    response = reader.post("/api/v1/availability/bulk/", {"skus": [f"SKU-{n}" for n in range(501)]})
    assert response.status_code == 400
    assert "skus" in response.json()["error"]["details"]


def test_a_lisbon_clerk_sees_availability_in_every_store(api_client, network, sneaker):
    stock(network["berlin"], sneaker, 2)
    api_client.force_authenticate(
        make_staff("ana", role="Store associate", locations=[network["lisbon"]])
    )
    body = api_client.get(f"/api/v1/availability/{sneaker.code}/").json()
    assert [row["location"] for row in body["locations"]] == ["berlin-mitte"]


def test_availability_needs_stock_read(token_client, network, sneaker):
    _, plain = make_token([Scope.CUSTOMERS_READ])
    assert token_client(plain).get(f"/api/v1/availability/{sneaker.code}/").status_code == 403


def test_low_stock_report_and_replenishment_suggest_a_transfer_from_the_warehouse(
    reader, network, sneaker
):
    stock(network["lisbon"], sneaker, 1, reorder_point=3)
    stock(network["porto"], sneaker, 5, reorder_point=3)
    stock(network["warehouse"], sneaker, 20, reorder_point=5)
    low = reader.get("/api/v1/replenishment/low-stock/").json()["results"]
    assert [(row["location"], row["available"]) for row in low] == [("lisbon-chiado", 1)]
    suggestions = reader.get("/api/v1/replenishment/suggestions/").json()
    assert suggestions == [
        {
            "source": "warehouse-central",
            "destination": "lisbon-chiado",
            "sku": sneaker.code,
            "quantity": 5,
            "available": 1,
            "reorder_point": 3,
            "in_transit": 0,
            "reason": suggestions[0]["reason"],
        }
    ]


def test_replenishment_counts_what_is_already_on_the_road(network, sneaker):
    stock(network["lisbon"], sneaker, 1, reorder_point=3)
    stock(network["warehouse"], sneaker, 20)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=sneaker, quantity=5)],
    )
    transfers.pick_transfer(transfer=transfer)
    transfers.ship_transfer(transfer=transfer)
    assert selectors.replenishment_suggestions() == []


def test_a_planner_requests_the_suggested_transfers_in_one_call(api_client, network, sneaker):
    from inventory.models import Transfer

    stock(network["lisbon"], sneaker, 0, reorder_point=2)
    stock(network["porto"], sneaker, 1, reorder_point=2)
    stock(network["warehouse"], sneaker, 20)
    api_client.force_authenticate(make_staff("lena", role="Inventory planner"))
    response = api_client.post("/api/v1/replenishment/transfers/", {})
    assert response.status_code == 201, response.json()
    created = {
        (row["destination"], row["lines"][0]["quantity_requested"]) for row in response.json()
    }
    assert created == {("lisbon-chiado", 4), ("porto-baixa", 3)}
    assert Transfer.objects.filter(status="requested", reference="replenishment").count() == 2


def test_a_reader_cannot_request_replenishment(reader, network):
    assert reader.post("/api/v1/replenishment/transfers/", {}).status_code == 403


def test_an_unknown_location_in_an_availability_query_is_a_400(reader, network, sneaker):
    response = reader.get(
        f"/api/v1/availability/{sneaker.code}/", {"location": "atlantis", "channel": "store"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_location"


# --- Locations are the process's copy, renewed whenever one changes ------------------------


def test_a_store_that_stops_click_and_collect_leaves_web_availability_at_once(
    reader, network, sneaker
):
    stock(network["lisbon"], sneaker, 3)
    stock(network["porto"], sneaker, 5)
    web = {"channel": "web"}
    assert reader.get(f"/api/v1/availability/{sneaker.code}/", web).json()["available"] == 8
    network["porto"].offers_click_and_collect = False
    network["porto"].save()
    body = reader.get(f"/api/v1/availability/{sneaker.code}/", web).json()
    assert [row["location"] for row in body["locations"]] == ["lisbon-chiado"]
    assert body["available"] == 3


def test_a_renamed_location_answers_to_its_new_code_only(reader, network, sneaker):
    stock(network["lisbon"], sneaker, 3)
    url = f"/api/v1/availability/{sneaker.code}/"
    assert reader.get(url, {"location": "lisbon-chiado"}).json()["available"] == 3
    network["lisbon"].code = "lisbon-baixa"
    network["lisbon"].name = "Lisbon Baixa"
    network["lisbon"].save()
    refused = reader.get(url, {"location": "lisbon-chiado"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_location"
    body = reader.get(url, {"location": "lisbon-baixa"}).json()
    assert body["locations"][0]["name"] == "Lisbon Baixa"
