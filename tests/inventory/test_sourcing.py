"""Sourcing: the pickup store if it can, else a transfer; shipping from the fewest, nearest
places; deterministic and explained."""

import pytest

from inventory.models import StockMovement, Transfer
from inventory.services.ledger import InsufficientStock
from inventory.services.sourcing import (
    LocationCannotFulfil,
    OrderLine,
    plan_sourcing,
)
from omni.models import Scope
from tests.factories import make_token
from tests.inventory.catalog_factories import CatalogSkuFactory, place, stock

pytestmark = pytest.mark.django_db

CASCAIS = (38.6979, -9.4215)
BERLIN_CUSTOMER = (52.50, 13.35)


@pytest.fixture
def network():
    return {
        "lisbon": place("lisbon-chiado", offers_click_and_collect=True, ships_to_customers=True),
        "porto": place("porto-baixa", offers_click_and_collect=True, offers_curbside=True),
        "madrid": place("madrid-salamanca", ships_to_customers=True),
        "berlin": place("berlin-mitte", offers_click_and_collect=True),
        "warehouse": place("warehouse-central", ships_to_customers=True, sells_in_store=False),
    }


@pytest.fixture
def boots():
    return CatalogSkuFactory(code="BOT-DOU-BLK-42")


@pytest.fixture
def tee():
    return CatalogSkuFactory(code="TEE-ESS-WHT-M")


def legs(plan_legs):
    return [
        (leg.location.code, sorted((sku.code, qty) for sku, qty in leg.lines)) for leg in plan_legs
    ]


def test_ana_collects_in_porto_because_porto_has_everything(network, boots, tee):
    stock(network["porto"], boots, 1)
    stock(network["porto"], tee, 2)
    stock(network["lisbon"], boots, 5)
    plan = plan_sourcing(
        lines=[OrderLine(sku=boots, quantity=1), OrderLine(sku=tee, quantity=2)],
        method="click_and_collect",
        pickup_location=network["porto"],
    )
    assert sorted((sku.code, qty) for sku, qty in plan.pick_at_pickup) == [
        (boots.code, 1),
        (tee.code, 2),
    ]
    assert plan.transfers == []
    assert plan.reasons == ["porto-baixa has every line; pick them there."]


def test_what_porto_lacks_comes_by_transfer_from_the_nearest_location_that_has_it(
    network, boots, tee
):
    stock(network["porto"], tee, 2)
    stock(network["lisbon"], boots, 1)  # ~275 km from Porto
    stock(network["warehouse"], boots, 30)  # ~460 km
    plan = plan_sourcing(
        lines=[OrderLine(sku=boots, quantity=1), OrderLine(sku=tee, quantity=2)],
        method="click_and_collect",
        pickup_location=network["porto"],
    )
    assert [(sku.code, qty) for sku, qty in plan.pick_at_pickup] == [(tee.code, 2)]
    assert legs(plan.transfers) == [("lisbon-chiado", [(boots.code, 1)])]
    assert 250 < plan.transfers[0].distance_km < 300
    assert plan.reasons[0] == f"porto-baixa lacks {boots.code} ×1."
    assert "Transfer from lisbon-chiado" in plan.reasons[1]


def test_planning_writes_nothing(network, boots):
    stock(network["lisbon"], boots, 1)
    movements = StockMovement.objects.count()
    plan_sourcing(
        lines=[OrderLine(sku=boots, quantity=1)],
        method="click_and_collect",
        pickup_location=network["porto"],
    )
    assert StockMovement.objects.count() == movements
    assert not Transfer.objects.exists()


def test_one_shipment_from_the_nearest_place_that_holds_every_line(network, boots, tee):
    for where in ("lisbon", "madrid", "warehouse"):
        stock(network[where], boots, 2)
        stock(network[where], tee, 2)
    plan = plan_sourcing(
        lines=[OrderLine(sku=boots, quantity=1), OrderLine(sku=tee, quantity=1)],
        method="ship",
        ship_to=CASCAIS,
    )
    assert legs(plan.shipments) == [("lisbon-chiado", [(boots.code, 1), (tee.code, 1)])]
    assert plan.reasons[0].startswith("One shipment from lisbon-chiado")


def test_one_farther_shipment_beats_two_nearer_ones(network, boots, tee):
    stock(network["lisbon"], boots, 2)  # near, but no tee
    stock(network["madrid"], tee, 2)
    stock(network["warehouse"], boots, 2)
    stock(network["warehouse"], tee, 2)
    plan = plan_sourcing(
        lines=[OrderLine(sku=boots, quantity=1), OrderLine(sku=tee, quantity=1)],
        method="ship",
        ship_to=CASCAIS,
    )
    assert legs(plan.shipments) == [("warehouse-central", [(boots.code, 1), (tee.code, 1)])]


def test_an_order_is_split_only_when_no_single_place_can_fill_it(network, boots, tee):
    stock(network["lisbon"], boots, 1)
    stock(network["madrid"], tee, 1)
    stock(network["warehouse"], tee, 1)
    plan = plan_sourcing(
        lines=[OrderLine(sku=boots, quantity=1), OrderLine(sku=tee, quantity=1)],
        method="ship",
        ship_to=CASCAIS,
    )
    # Madrid is nearer Cascais than the warehouse, so the tee ships from Madrid.
    assert legs(plan.shipments) == [
        ("lisbon-chiado", [(boots.code, 1)]),
        ("madrid-salamanca", [(tee.code, 1)]),
    ]
    assert "split into 2 shipments" in plan.reasons[0]


def test_porto_does_not_ship_so_its_stock_is_never_shipped(network, boots):
    stock(network["porto"], boots, 10)
    with pytest.raises(InsufficientStock) as refused:
        plan_sourcing(lines=[OrderLine(sku=boots, quantity=1)], method="ship", ship_to=CASCAIS)
    assert refused.value.details["lines"] == [
        {"sku": boots.code, "requested": 1, "available": 0, "by_location": {}}
    ]


def test_ties_go_to_the_lower_location_code_without_an_address(network, boots):
    stock(network["warehouse"], boots, 3)
    stock(network["madrid"], boots, 3)
    stock(network["lisbon"], boots, 3)
    first = plan_sourcing(lines=[OrderLine(sku=boots, quantity=1)], method="ship")
    again = plan_sourcing(lines=[OrderLine(sku=boots, quantity=1)], method="ship")
    assert legs(first.shipments) == legs(again.shipments) == [("lisbon-chiado", [(boots.code, 1)])]


def test_curbside_at_a_store_without_curbside_is_a_clear_422(network, boots):
    stock(network["lisbon"], boots, 3)
    with pytest.raises(LocationCannotFulfil) as refused:
        plan_sourcing(
            lines=[OrderLine(sku=boots, quantity=1)],
            method="curbside",
            pickup_location=network["lisbon"],
        )
    assert refused.value.status_code == 422
    assert refused.value.details == {"location": "lisbon-chiado", "method": "curbside"}


@pytest.fixture
def reader(token_client):
    _, plain = make_token([Scope.STOCK_READ], name="Web shop")
    return token_client(plain)


def test_the_api_explains_a_plan(reader, network, boots):
    stock(network["berlin"], boots, 1)
    response = reader.post(
        "/api/v1/sourcing/plan/",
        {
            "method": "click_and_collect",
            "pickup_location": "berlin-mitte",
            "lines": [{"sku": boots.code, "quantity": 1}],
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["pickup_location"] == "berlin-mitte"
    assert body["pick_at_pickup"] == [{"sku": boots.code, "quantity": 1}]
    assert body["reasons"]


def test_the_api_refuses_a_store_that_does_not_ship_with_422(reader, network, boots):
    stock(network["porto"], boots, 1)
    response = reader.post(
        "/api/v1/sourcing/plan/",
        {
            "method": "ship",
            "ship_from": "porto-baixa",
            "lines": [{"sku": boots.code, "quantity": 1}],
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "location_cannot_fulfil"


def test_the_api_refuses_a_pickup_store_that_offers_no_pickup_with_422(reader, network, boots):
    response = reader.post(
        "/api/v1/sourcing/plan/",
        {
            "method": "click_and_collect",
            "pickup_location": "madrid-salamanca",
            "lines": [{"sku": boots.code, "quantity": 1}],
        },
    )
    assert response.status_code == 422


def test_the_api_says_409_insufficient_stock_with_availability_per_line(reader, network, boots):
    stock(network["warehouse"], boots, 2)
    response = reader.post(
        "/api/v1/sourcing/plan/",
        {
            "method": "ship",
            "ship_to": {"latitude": 52.5, "longitude": 13.35},
            "lines": [{"sku": boots.code, "quantity": 3}],
        },
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"]["lines"][0]["available"] == 2


@pytest.mark.parametrize("quantity", [0, -1])
def test_the_api_refuses_non_positive_quantities(reader, network, boots, quantity):
    response = reader.post(
        "/api/v1/sourcing/plan/",
        {"method": "ship", "lines": [{"sku": boots.code, "quantity": quantity}]},
    )
    assert response.status_code == 400


def test_a_pickup_without_a_store_is_a_400(reader, network, boots):
    response = reader.post(
        "/api/v1/sourcing/plan/",
        {"method": "curbside", "lines": [{"sku": boots.code, "quantity": 1}]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_sourcing_request"


def test_an_order_spread_over_four_places_ships_from_all_four(network):
    network["berlin"].ships_to_customers = True
    network["berlin"].save()
    skus = [CatalogSkuFactory() for _ in range(4)]
    for sku, where in zip(skus, ("lisbon", "madrid", "warehouse", "berlin"), strict=True):
        stock(network[where], sku, 1)
    plan = plan_sourcing(
        lines=[OrderLine(sku=sku, quantity=1) for sku in skus], method="ship", ship_to=CASCAIS
    )
    assert sorted(leg.location.code for leg in plan.shipments) == [
        "berlin-mitte",
        "lisbon-chiado",
        "madrid-salamanca",
        "warehouse-central",
    ]
    assert sum(qty for leg in plan.shipments for _, qty in leg.lines) == 4
