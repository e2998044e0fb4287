"""Transfers: requested → picked → in transit → received → closed, and what they refuse."""

import threading

import pytest
from django.db import connection

from inventory.models import StockLevel, StockMovement, Transfer
from inventory.services import transfers
from inventory.services.ledger import InsufficientStock
from omni.models import Scope
from tests.factories import make_staff, make_token
from tests.inventory.catalog_factories import (
    CatalogSkuFactory,
    ledger_matches_on_hand,
    place,
    stock,
)

pytestmark = pytest.mark.django_db


def on_hand(location, sku) -> int:
    level = StockLevel.objects.filter(location=location, sku=sku).first()
    return level.on_hand if level else 0


@pytest.fixture
def network():
    return {
        "warehouse": place("warehouse-central", ships_to_customers=True),
        "lisbon": place("lisbon-chiado"),
        "porto": place("porto-baixa"),
        "berlin": place("berlin-mitte"),
    }


@pytest.fixture
def boots():
    return CatalogSkuFactory(code="BOT-DOU-BLK-42")


@pytest.fixture
def planner(api_client):
    api_client.force_authenticate(make_staff("lena", role="Inventory planner"))
    return api_client


def _create(client, source, destination, lines):
    return client.post(
        "/api/v1/transfers/",
        {"source": source, "destination": destination, "lines": lines},
    )


def test_a_transfer_moves_stock_from_the_warehouse_to_lisbon_through_every_state(
    planner, network, boots
):
    stock(network["warehouse"], boots, 10)
    created = _create(
        planner, "warehouse-central", "lisbon-chiado", [{"sku": boots.code, "quantity": 4}]
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["status"] == "requested"

    assert planner.post(f"/api/v1/transfers/{pk}/pick/").json()["status"] == "picked"
    # Picking leaves the units on the warehouse's shelves.
    assert on_hand(network["warehouse"], boots) == 10

    shipped = planner.post(f"/api/v1/transfers/{pk}/ship/", {}, HTTP_IDEMPOTENCY_KEY="ship-1")
    assert shipped.status_code == 200, shipped.json()
    assert shipped.json()["status"] == "in_transit"
    assert shipped.json()["expected_arrival"]
    assert on_hand(network["warehouse"], boots) == 6

    # On the road, Lisbon sees it coming with its date.
    availability = planner.get(f"/api/v1/availability/{boots.code}/").json()
    assert availability["in_transit"] == [
        {
            "transfer": pk,
            "source": "warehouse-central",
            "destination": "lisbon-chiado",
            "quantity": 4,
            "expected_arrival": shipped.json()["expected_arrival"],
        }
    ]

    received = planner.post(f"/api/v1/transfers/{pk}/receive/", {}, HTTP_IDEMPOTENCY_KEY="rcv-1")
    assert received.status_code == 200, received.json()
    assert received.json()["status"] == "received"
    assert received.json()["lines"][0]["discrepancy"] == 0
    assert on_hand(network["lisbon"], boots) == 4

    assert planner.post(f"/api/v1/transfers/{pk}/close/").json()["status"] == "closed"
    kinds = list(
        StockMovement.objects.filter(reference_type="transfer", reference_id=str(pk))
        .order_by("id")
        .values_list("kind", "delta")
    )
    assert kinds == [("transfer_out", -4), ("transfer_in", 4)]
    assert ledger_matches_on_hand()


def test_a_partial_receipt_records_the_discrepancy_per_line(network, boots):
    tee = CatalogSkuFactory(code="TEE-ESS-WHT-M")
    stock(network["warehouse"], boots, 5)
    stock(network["warehouse"], tee, 5)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["porto"],
        lines=[
            transfers.LineRequest(sku=boots, quantity=3),
            transfers.LineRequest(sku=tee, quantity=2),
        ],
    )
    transfers.pick_transfer(transfer=transfer)
    transfers.ship_transfer(transfer=transfer)
    transfer = transfers.receive_transfer(
        transfer=transfer, received={boots.pk: 2, tee.pk: 2}, notes={boots.pk: "box crushed"}
    )
    assert transfer.status == Transfer.Status.PARTIALLY_RECEIVED
    lines = {line.sku.code: line for line in transfer.lines.select_related("sku")}
    assert lines[boots.code].discrepancy == 1
    assert lines[boots.code].discrepancy_note == "box crushed"
    assert lines[tee.code].discrepancy == 0
    # The missing unit arrives a day later.
    transfer = transfers.receive_transfer(transfer=transfer, received={boots.pk: 1})
    assert transfer.status == Transfer.Status.RECEIVED
    assert transfer.lines.get(sku=boots).discrepancy == 0
    assert on_hand(network["porto"], boots) == 3
    assert ledger_matches_on_hand()


def test_closing_after_a_short_delivery_keeps_the_shortfall_on_record(network, boots):
    stock(network["warehouse"], boots, 5)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["porto"],
        lines=[transfers.LineRequest(sku=boots, quantity=5)],
    )
    transfers.pick_transfer(transfer=transfer)
    transfers.ship_transfer(transfer=transfer)
    transfers.receive_transfer(transfer=transfer, received={boots.pk: 3})
    transfer = transfers.close_transfer(transfer=transfer)
    assert transfer.status == Transfer.Status.CLOSED
    assert transfer.lines.get().discrepancy == 2
    assert on_hand(network["warehouse"], boots) == 0
    assert on_hand(network["porto"], boots) == 3
    assert ledger_matches_on_hand()


def _nothing_written():
    return (
        not Transfer.objects.exists()
        and not StockMovement.objects.filter(reference_type="transfer").exists()
    )


def test_a_transfer_to_itself_is_refused_and_nothing_is_written(planner, network, boots):
    response = _create(
        planner, "lisbon-chiado", "lisbon-chiado", [{"sku": boots.code, "quantity": 1}]
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "transfer_to_same_location"
    assert _nothing_written()


@pytest.mark.parametrize(
    ("source", "destination", "sku", "quantity", "field"),
    [
        ("nowhere", "lisbon-chiado", "BOT-DOU-BLK-42", 1, "source"),
        ("warehouse-central", "nowhere", "BOT-DOU-BLK-42", 1, "destination"),
        ("warehouse-central", "lisbon-chiado", "NO-SUCH-SKU", 1, "lines"),
        ("warehouse-central", "lisbon-chiado", "BOT-DOU-BLK-42", 0, "lines"),
        ("warehouse-central", "lisbon-chiado", "BOT-DOU-BLK-42", -3, "lines"),
    ],
)
def test_unknown_places_and_skus_and_non_positive_quantities_are_refused_and_change_nothing(
    planner, network, boots, source, destination, sku, quantity, field
):
    response = _create(planner, source, destination, [{"sku": sku, "quantity": quantity}])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert field in response.json()["error"]["details"]
    assert _nothing_written()


def test_non_positive_quantities_are_refused_by_the_service_too(network, boots):
    with pytest.raises(transfers.InvalidTransfer):
        transfers.create_transfer(
            source=network["warehouse"],
            destination=network["lisbon"],
            lines=[transfers.LineRequest(sku=boots, quantity=0)],
        )
    assert _nothing_written()


def test_receiving_more_than_was_shipped_is_refused_and_changes_nothing(planner, network, boots):
    stock(network["warehouse"], boots, 5)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=boots, quantity=2)],
    )
    transfers.pick_transfer(transfer=transfer)
    transfers.ship_transfer(transfer=transfer)
    response = planner.post(
        f"/api/v1/transfers/{transfer.pk}/receive/",
        {"lines": [{"sku": boots.code, "quantity": 3}]},
        HTTP_IDEMPOTENCY_KEY="rcv-too-many",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "receiving_more_than_shipped"
    assert error["details"] == {
        "sku": boots.code,
        "shipped": 2,
        "already_received": 0,
        "receiving": 3,
    }
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.IN_TRANSIT
    assert on_hand(network["lisbon"], boots) == 0
    assert transfer.lines.get().quantity_received == 0


def test_shipping_what_the_source_no_longer_has_is_a_409_and_the_transfer_stays_picked(
    planner, network, boots
):
    stock(network["warehouse"], boots, 1)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=boots, quantity=2)],
    )
    transfers.pick_transfer(transfer=transfer)
    response = planner.post(
        f"/api/v1/transfers/{transfer.pk}/ship/", {}, HTTP_IDEMPOTENCY_KEY="ship-short"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    assert response.json()["error"]["details"]["available"] == 1
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.PICKED
    assert transfer.shipped_at is None
    assert on_hand(network["warehouse"], boots) == 1


def test_shipping_needs_an_idempotency_key(planner, network, boots):
    stock(network["warehouse"], boots, 2)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=boots, quantity=2)],
    )
    transfers.pick_transfer(transfer=transfer)
    response = planner.post(f"/api/v1/transfers/{transfer.pk}/ship/", {})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


def test_a_shipped_transfer_can_no_longer_be_cancelled(network, boots):
    stock(network["warehouse"], boots, 2)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=boots, quantity=2)],
    )
    with pytest.raises(transfers.InvalidTransferState):
        transfers.ship_transfer(transfer=transfer)  # not picked yet
    transfers.pick_transfer(transfer=transfer)
    transfers.ship_transfer(transfer=transfer)
    with pytest.raises(transfers.InvalidTransferState) as refused:
        transfers.cancel_transfer(transfer=transfer)
    assert refused.value.details["status"] == "in_transit"
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.IN_TRANSIT


def test_a_requested_transfer_is_cancelled_without_moving_stock(network, boots):
    stock(network["warehouse"], boots, 2)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=boots, quantity=2)],
    )
    assert transfers.cancel_transfer(transfer=transfer).status == Transfer.Status.CANCELLED
    assert on_hand(network["warehouse"], boots) == 2


def test_a_lisbon_clerk_sees_lisbon_transfers_only_and_others_are_404(api_client, network, boots):
    to_lisbon = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=boots, quantity=1)],
    )
    to_berlin = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["berlin"],
        lines=[transfers.LineRequest(sku=boots, quantity=1)],
    )
    ana = make_staff("ana", role="Store associate", locations=[network["lisbon"]])
    api_client.force_authenticate(ana)
    listed = api_client.get("/api/v1/transfers/").json()["results"]
    assert [row["id"] for row in listed] == [to_lisbon.pk]
    assert api_client.get(f"/api/v1/transfers/{to_berlin.pk}/").status_code == 404


def test_a_token_scoped_to_berlin_cannot_ship_a_lisbon_transfer(token_client, network, boots):
    _, plain = make_token([Scope.STOCK_READ, Scope.STOCK_WRITE], locations=[network["berlin"]])
    stock(network["warehouse"], boots, 1)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=boots, quantity=1)],
    )
    transfers.pick_transfer(transfer=transfer)
    response = token_client(plain).post(
        f"/api/v1/transfers/{transfer.pk}/ship/", {}, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 404
    assert on_hand(network["warehouse"], boots) == 1


def test_a_read_only_caller_cannot_create_transfers(token_client, network, boots):
    _, plain = make_token([Scope.STOCK_READ])
    response = _create(
        token_client(plain),
        "warehouse-central",
        "lisbon-chiado",
        [{"sku": boots.code, "quantity": 1}],
    )
    assert response.status_code == 403
    assert _nothing_written()


@pytest.mark.django_db(transaction=True)
def test_eight_clerks_pressing_ship_at_once_ship_the_transfer_once():
    warehouse = place("warehouse-central")
    lisbon = place("lisbon-chiado")
    sku = CatalogSkuFactory(code="HOT-1")
    stock(warehouse, sku, 10)
    transfer = transfers.create_transfer(
        source=warehouse, destination=lisbon, lines=[transfers.LineRequest(sku=sku, quantity=3)]
    )
    transfers.pick_transfer(transfer=transfer)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def ship():
        try:
            barrier.wait()
            transfers.ship_transfer(transfer=Transfer.objects.get(pk=transfer.pk))
            outcomes.append("shipped")
        except (transfers.InvalidTransferState, InsufficientStock):
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=ship) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["shipped"]
    assert on_hand(warehouse, sku) == 7
    assert StockMovement.objects.filter(kind="transfer_out").count() == 1
    assert ledger_matches_on_hand()


@pytest.mark.django_db(transaction=True)
def test_two_clerks_receiving_the_same_delivery_at_once_book_it_once():
    warehouse = place("warehouse-central")
    porto = place("porto-baixa")
    sku = CatalogSkuFactory(code="HOT-2")
    stock(warehouse, sku, 5)
    transfer = transfers.create_transfer(
        source=warehouse, destination=porto, lines=[transfers.LineRequest(sku=sku, quantity=5)]
    )
    transfers.pick_transfer(transfer=transfer)
    transfers.ship_transfer(transfer=transfer)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def receive():
        try:
            barrier.wait()
            transfers.receive_transfer(
                transfer=Transfer.objects.get(pk=transfer.pk), received={sku.pk: 5}
            )
            outcomes.append("received")
        except (transfers.InvalidTransferState, transfers.ReceivingMoreThanShipped):
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=receive) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["received"] + ["refused"] * 3
    assert on_hand(porto, sku) == 5
    assert ledger_matches_on_hand()


def test_a_lisbon_clerk_cannot_move_stock_between_two_other_stores(api_client, network, boots):
    manager = make_staff("rui", role="Store manager", locations=[network["lisbon"]])
    api_client.force_authenticate(manager)
    response = _create(
        api_client, "warehouse-central", "berlin-mitte", [{"sku": boots.code, "quantity": 1}]
    )
    assert response.status_code == 404
    assert _nothing_written()


def test_a_transfer_to_a_closed_store_is_refused_with_422(network, boots):
    network["berlin"].is_active = False
    network["berlin"].save()
    with pytest.raises(transfers.LocationInactive) as refused:
        transfers.create_transfer(
            source=network["warehouse"],
            destination=network["berlin"],
            lines=[transfers.LineRequest(sku=boots, quantity=1)],
        )
    assert refused.value.status_code == 422
    assert _nothing_written()
