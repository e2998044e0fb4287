"""The stock API: scopes, store scoping, idempotent writes, error shapes."""

import pytest

from inventory.models import (
    PosStockSale,
    Reservation,
    StockDiscrepancy,
    StockLevel,
    StockMovement,
)
from inventory.services.reservations import reserve_stock
from inventory.services.stock import adjust_stock
from omni.models import Role, Scope
from tests.factories import make_staff, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandal(db):
    return SkuFactory(code="SANDAL-40")


@pytest.fixture
def stocked(lisbon, porto, sandal):
    StockLevelFactory(location=lisbon, sku=sandal, on_hand=4, reorder_point=5)
    StockLevelFactory(location=porto, sku=sandal, on_hand=20, reorder_point=5)


@pytest.fixture
def lisbon_manager(lisbon, api_client):
    api_client.force_login(make_staff("marta", Role.STORE_MANAGER, locations=[lisbon]))
    return api_client


@pytest.fixture
def lisbon_register(lisbon, token_client):
    _, plain = make_token(
        [Scope.STOCK_READ, Scope.STOCK_WRITE, Scope.SALES_WRITE, Scope.ORDERS_WRITE],
        locations=[lisbon],
        name="Lisbon register 1",
    )
    return token_client(plain)


def post(client, url, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, body, format="json", **headers)


def error_of(response) -> dict:
    return response.json()["error"]


def test_every_store_sees_every_stock_level_and_can_filter_low_stock(stocked, lisbon_manager):
    everything = lisbon_manager.get("/api/v1/stock-levels/")
    assert everything.status_code == 200
    assert {row["location"] for row in everything.json()["results"]} == {
        "lisbon-chiado",
        "porto-baixa",
    }
    low = lisbon_manager.get("/api/v1/stock-levels/", {"low_stock": "true"}).json()["results"]
    assert [(row["location"], row["available"], row["low_stock"]) for row in low] == [
        ("lisbon-chiado", 4, True)
    ]
    porto = lisbon_manager.get("/api/v1/stock-levels/", {"location": "porto-baixa"}).json()
    assert [row["on_hand"] for row in porto["results"]] == [20]


def test_other_stores_movements_do_not_exist_for_store_staff(
    stocked, porto, sandal, lisbon_manager
):
    theirs = adjust_stock(location=porto, sku=sandal, delta=-1, reason="Shoplifted")
    listed = lisbon_manager.get("/api/v1/stock-movements/").json()["results"]
    assert {row["location"] for row in listed} == {"lisbon-chiado"}
    assert lisbon_manager.get(f"/api/v1/stock-movements/{theirs.pk}/").status_code == 404
    filtered = lisbon_manager.get("/api/v1/stock-movements/", {"location": "porto-baixa"})
    assert filtered.json()["count"] == 0


def test_a_receipt_is_written_once_per_idempotency_key(stocked, lisbon_register):
    body = {"location": "lisbon-chiado", "sku": "SANDAL-40", "quantity": 6, "reference": "PO-1"}
    first = post(lisbon_register, "/api/v1/stock/receipts/", body)
    replay = post(lisbon_register, "/api/v1/stock/receipts/", body)
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert first.json()["stock_level"]["on_hand"] == 10
    assert first.json()["movement"]["actor"].startswith("token:")
    assert StockMovement.objects.filter(kind="receipt", reference_id="PO-1").count() == 1
    assert_ledger_matches()


def test_a_stock_write_without_an_idempotency_key_is_refused(stocked, lisbon_register):
    body = {"location": "lisbon-chiado", "sku": "SANDAL-40", "quantity": 6}
    response = post(lisbon_register, "/api/v1/stock/receipts/", body, key=None)
    assert response.status_code == 400
    assert error_of(response)["code"] == "idempotency_key_required"
    assert StockMovement.objects.filter(kind="receipt").count() == 2


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/stock/receipts/", {"quantity": 0}, "quantity"),
        ("/api/v1/stock/receipts/", {"quantity": -4}, "quantity"),
        ("/api/v1/stock/receipts/", {"quantity": 1, "sku": "NOPE"}, "sku"),
        ("/api/v1/stock/receipts/", {"quantity": 1, "location": "atlantis"}, "location"),
        ("/api/v1/stock/adjustments/", {"delta": -1}, "reason"),
        ("/api/v1/stock/adjustments/", {"delta": -1, "reason": ""}, "reason"),
        ("/api/v1/stock/adjustments/", {"delta": 0, "reason": "typo"}, "delta"),
        ("/api/v1/stock/damage/", {"quantity": 1}, "reason"),
        ("/api/v1/stock/counts/", {"counted": -1, "expected": 4}, "counted"),
        (
            "/api/v1/reservations/",
            {"quantity": 0, "owner_type": "cart", "owner_ref": "c"},
            "quantity",
        ),
        (
            "/api/v1/reservations/",
            {"quantity": 1, "owner_type": "wish", "owner_ref": "c"},
            "owner_type",
        ),
    ],
)
def test_bad_stock_input_is_a_clear_400_and_writes_nothing(
    stocked, lisbon_register, url, body, field
):
    before = StockMovement.objects.count()
    response = post(lisbon_register, url, {"location": "lisbon-chiado", "sku": "SANDAL-40", **body})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"
    assert field in error_of(response)["details"]
    assert StockMovement.objects.count() == before
    assert not Reservation.objects.exists()


def test_writing_stock_at_another_store_is_refused_and_writes_nothing(stocked, lisbon_register):
    body = {"location": "porto-baixa", "sku": "SANDAL-40", "delta": -5, "reason": "Broken"}
    response = post(lisbon_register, "/api/v1/stock/adjustments/", body)
    assert response.status_code == 403
    assert error_of(response)["code"] == "location_not_allowed"
    assert StockLevel.objects.get(location__code="porto-baixa").on_hand == 20


def test_stock_writes_need_the_stock_write_scope(stocked, token_client):
    _, plain = make_token([Scope.STOCK_READ, Scope.SALES_WRITE])
    body = {"location": "lisbon-chiado", "sku": "SANDAL-40", "quantity": 1}
    response = post(token_client(plain), "/api/v1/stock/receipts/", body)
    assert response.status_code == 403
    assert StockMovement.objects.filter(kind="receipt").count() == 2


def test_a_stale_count_is_409_with_what_on_hand_is_now(stocked, lisbon_manager):
    body = {"location": "lisbon-chiado", "sku": "SANDAL-40", "counted": 3, "expected": 5}
    response = post(lisbon_manager, "/api/v1/stock/counts/", body)
    assert response.status_code == 409
    assert error_of(response)["code"] == "stale_count"
    assert error_of(response)["details"]["on_hand"] == 4
    good = post(lisbon_manager, "/api/v1/stock/counts/", {**body, "expected": 4}, key="key-2")
    assert good.status_code == 201
    assert good.json()["movement"]["delta"] == -1
    assert_ledger_matches()


def test_a_reservation_beyond_availability_is_409_with_availability_per_line(
    stocked, lisbon_register
):
    body = {
        "location": "lisbon-chiado",
        "sku": "SANDAL-40",
        "quantity": 5,
        "owner_type": "cart",
        "owner_ref": "cart-ana",
    }
    response = post(lisbon_register, "/api/v1/reservations/", body)
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "insufficient_stock"
    assert error["details"]["lines"] == [
        {
            "sku": "SANDAL-40",
            "location": "lisbon-chiado",
            "requested": 5,
            "on_hand": 4,
            "reserved": 0,
            "safety_stock": 0,
            "available": 4,
        }
    ]
    assert not Reservation.objects.exists()


def test_a_basket_reserved_release_and_commit_over_the_api(stocked, lisbon, lisbon_register):
    other = SkuFactory(code="SOCKS-3P")
    StockLevelFactory(location=lisbon, sku=other, on_hand=2)
    basket = post(
        lisbon_register,
        "/api/v1/reservations/baskets/",
        {
            "owner_type": "order",
            "owner_ref": "O-77",
            "ttl_seconds": 600,
            "lines": [
                {"location": "lisbon-chiado", "sku": "SANDAL-40", "quantity": 2},
                {"location": "lisbon-chiado", "sku": "SOCKS-3P", "quantity": 1},
            ],
        },
    )
    assert basket.status_code == 201, basket.json()
    made = basket.json()["reservations"]
    assert {row["basket"] for row in made} == {basket.json()["basket"]}
    sandal_id = next(row["id"] for row in made if row["sku"] == "SANDAL-40")
    socks_id = next(row["id"] for row in made if row["sku"] == "SOCKS-3P")

    committed = post(lisbon_register, f"/api/v1/reservations/{sandal_id}/commit/", {}, "c-1")
    released = post(lisbon_register, f"/api/v1/reservations/{socks_id}/release/", {}, "r-1")
    assert committed.json()["status"] == "committed"
    assert released.json()["status"] == "released"
    again = post(lisbon_register, f"/api/v1/reservations/{socks_id}/release/", {}, "r-2")
    assert again.status_code == 409
    assert error_of(again)["code"] == "reservation_not_active"
    assert StockLevel.objects.get(location=lisbon, sku__code="SANDAL-40").on_hand == 2
    assert_ledger_matches()


def test_another_stores_reservation_cannot_be_committed(stocked, porto, sandal, lisbon_register):
    theirs = reserve_stock(location=porto, sku=sandal, quantity=1, owner_type="cart", owner_ref="x")
    response = post(lisbon_register, f"/api/v1/reservations/{theirs.pk}/commit/", {})
    assert response.status_code == 404
    assert Reservation.objects.get().status == "active"


def test_a_pos_oversale_over_the_api_raises_a_discrepancy_and_flags_reservations(
    stocked, lisbon, sandal, lisbon_register, lisbon_manager
):
    held = reserve_stock(
        location=lisbon, sku=sandal, quantity=2, owner_type="pickup", owner_ref="P-9"
    )
    body = {
        "location": "lisbon-chiado",
        "reference": "LIS-R1-0420",
        "lines": [{"sku": "SANDAL-40", "quantity": 6}],
    }
    response = post(lisbon_register, "/api/v1/pos-sales/", body)
    assert response.status_code == 201, response.json()
    result = response.json()
    assert result["movements"][0]["delta"] == -4
    assert result["discrepancies"][0]["shortfall"] == 2
    assert [row["id"] for row in result["flagged_reservations"]] == [held.pk]
    assert result["flagged_reservations"][0]["needs_resourcing"] is True

    # The register retries with a new key after a timeout: recorded once, replayed.
    retry = post(lisbon_register, "/api/v1/pos-sales/", body, key="key-2")
    assert retry.status_code == 200
    assert retry.json()["replayed"] is True
    assert PosStockSale.objects.count() == 1
    assert StockDiscrepancy.objects.count() == 1

    listed = lisbon_manager.get("/api/v1/stock-discrepancies/", {"status": "open"})
    assert [row["reference_id"] for row in listed.json()["results"]] == ["LIS-R1-0420"]
    flagged = lisbon_manager.get("/api/v1/reservations/", {"needs_resourcing": "true"})
    assert [row["id"] for row in flagged.json()["results"]] == [held.pk]
    assert_ledger_matches()


def test_pos_sales_need_the_sales_scope(stocked, token_client):
    _, plain = make_token([Scope.STOCK_READ, Scope.STOCK_WRITE])
    body = {
        "location": "lisbon-chiado",
        "reference": "R",
        "lines": [{"sku": "SANDAL-40", "quantity": 1}],
    }
    assert post(token_client(plain), "/api/v1/pos-sales/", body).status_code == 403
    assert not PosStockSale.objects.exists()


def test_other_stores_discrepancies_do_not_exist_for_store_staff(
    stocked, lisbon, porto, sandal, api_client
):
    from inventory.services.pos import SaleLine, record_pos_sale

    record_pos_sale(location=porto, reference="POR-1", lines=[SaleLine(sandal, 30)])
    theirs = StockDiscrepancy.objects.get()
    api_client.force_login(make_staff("rui", Role.STORE_ASSOCIATE, locations=[lisbon]))
    assert api_client.get("/api/v1/stock-discrepancies/").json()["count"] == 0
    assert api_client.get(f"/api/v1/stock-discrepancies/{theirs.pk}/").status_code == 404
    api_client.force_login(make_staff("ines", Role.STORE_ASSOCIATE, locations=[porto]))
    assert api_client.get("/api/v1/stock-discrepancies/").json()["count"] == 1


def test_every_stock_endpoint_is_in_the_schema(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in [
        "/api/v1/stock-levels/",
        "/api/v1/stock-movements/",
        "/api/v1/stock/receipts/",
        "/api/v1/stock/adjustments/",
        "/api/v1/stock/counts/",
        "/api/v1/stock/damage/",
        "/api/v1/stock/return-restocks/",
        "/api/v1/stock/policies/",
        "/api/v1/reservations/",
        "/api/v1/reservations/baskets/",
        "/api/v1/reservations/{id}/commit/",
        "/api/v1/reservations/{id}/release/",
        "/api/v1/pos-sales/",
        "/api/v1/stock-discrepancies/",
        "/api/v1/stock-discrepancies/{id}/resolve/",
    ]:
        assert path in schema["paths"], path


def test_damage_return_restock_and_policy_over_the_api(stocked, lisbon_manager):
    damaged = post(
        lisbon_manager,
        "/api/v1/stock/damage/",
        {"location": "lisbon-chiado", "sku": "SANDAL-40", "quantity": 1, "reason": "Torn strap"},
    )
    assert damaged.status_code == 201
    assert damaged.json()["stock_level"]["damaged"] == 1
    restocked = post(
        lisbon_manager,
        "/api/v1/stock/return-restocks/",
        {
            "location": "lisbon-chiado",
            "sku": "SANDAL-40",
            "quantity": 2,
            "return_reference": "RMA-5",
        },
        key="key-2",
    )
    assert restocked.status_code == 201
    assert restocked.json()["movement"]["kind"] == "return_restock"
    policy = post(
        lisbon_manager,
        "/api/v1/stock/policies/",
        {"location": "lisbon-chiado", "sku": "SANDAL-40", "safety_stock": 2},
        key="key-3",
    )
    assert policy.status_code == 200
    assert (policy.json()["on_hand"], policy.json()["available"]) == (5, 3)
    assert_ledger_matches()


def test_a_location_scoped_token_sees_only_its_stores_movements(
    stocked, porto, sandal, lisbon_register
):
    theirs = adjust_stock(location=porto, sku=sandal, delta=1, reason="Found one")
    assert lisbon_register.get(f"/api/v1/stock-movements/{theirs.pk}/").status_code == 404
    receipts = lisbon_register.get("/api/v1/stock-movements/", {"kind": "receipt"}).json()
    assert [(row["location"], row["delta"]) for row in receipts["results"]] == [
        ("lisbon-chiado", 4)
    ]


def test_a_basket_refusal_over_the_api_lists_every_line(stocked, token_client):
    _, plain = make_token([Scope.ORDERS_WRITE], name="Web shop")
    response = post(
        token_client(plain),
        "/api/v1/reservations/baskets/",
        {
            "owner_type": "cart",
            "owner_ref": "cart-ana",
            "lines": [
                {"location": "lisbon-chiado", "sku": "SANDAL-40", "quantity": 3},
                {"location": "porto-baixa", "sku": "SANDAL-40", "quantity": 30},
            ],
        },
    )
    assert response.status_code == 409
    details = error_of(response)["details"]
    assert [(line["location"], line["available"]) for line in details["lines"]] == [
        ("lisbon-chiado", 4),
        ("porto-baixa", 20),
    ]
    assert not Reservation.objects.exists()


def test_a_store_register_cannot_reserve_at_another_store(stocked, lisbon_register):
    body = {
        "location": "porto-baixa",
        "sku": "SANDAL-40",
        "quantity": 1,
        "owner_type": "pickup",
        "owner_ref": "P-1",
    }
    response = post(lisbon_register, "/api/v1/reservations/", body)
    assert response.status_code == 403
    assert error_of(response)["code"] == "location_not_allowed"
    assert not Reservation.objects.exists()


def test_committing_a_lapsed_reservation_over_the_api_is_409(
    stocked, lisbon, sandal, lisbon_register
):
    from datetime import timedelta

    from django.utils import timezone

    held = reserve_stock(location=lisbon, sku=sandal, quantity=1, owner_type="cart", owner_ref="c")
    Reservation.objects.filter(pk=held.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(lisbon_register, f"/api/v1/reservations/{held.pk}/commit/", {})
    assert response.status_code == 409
    assert error_of(response)["code"] == "reservation_expired"
    assert StockLevel.objects.get(location=lisbon).on_hand == 4


def test_a_store_resolves_its_discrepancy_once(stocked, lisbon, sandal, lisbon_manager):
    from inventory.services.pos import SaleLine, record_pos_sale

    record_pos_sale(location=lisbon, reference="LIS-9", lines=[SaleLine(sandal, 5)])
    discrepancy = StockDiscrepancy.objects.get()
    url = f"/api/v1/stock-discrepancies/{discrepancy.pk}/resolve/"
    missing_note = post(lisbon_manager, url, {"note": ""}, key=None)
    assert missing_note.status_code == 400
    resolved = post(lisbon_manager, url, {"note": "Receipt PO-12 was never booked"}, key=None)
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    again = post(lisbon_manager, url, {"note": "again"}, key=None)
    assert again.status_code == 409
    assert error_of(again)["code"] == "discrepancy_not_open"
