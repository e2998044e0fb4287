"""Receipts, adjustments, counts, damage, return restocks and stock policy."""

import pytest

from inventory.models import StockLevel, StockMovement
from inventory.services.ledger import InsufficientStock, StaleCount
from inventory.services.reservations import reserve_stock
from inventory.services.stock import (
    InvalidQuantity,
    ReasonRequired,
    ReturnsNotAccepted,
    adjust_stock,
    count_stock,
    mark_damaged,
    receive_stock,
    restock_return,
    set_stock_policy,
)
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches

pytestmark = pytest.mark.django_db


@pytest.fixture
def sneaker(db):
    return SkuFactory(code="SNK-AIR-42")


def level_of(location, sku) -> StockLevel:
    return StockLevel.objects.get(location=location, sku=sku)


def test_receiving_goods_raises_on_hand_and_writes_a_receipt(lisbon, sneaker):
    movement = receive_stock(location=lisbon, sku=sneaker, quantity=12, reference_id="PO-7")
    assert movement.kind == StockMovement.Kind.RECEIPT
    assert (movement.delta, movement.balance_after, movement.reference_id) == (12, 12, "PO-7")
    assert level_of(lisbon, sneaker).on_hand == 12
    assert_ledger_matches()


@pytest.mark.parametrize("quantity", [0, -3, True, 1.5, "2"])
def test_receiving_a_quantity_that_is_not_a_positive_whole_number_is_refused(
    lisbon, sneaker, quantity
):
    with pytest.raises(InvalidQuantity):
        receive_stock(location=lisbon, sku=sneaker, quantity=quantity)
    assert not StockMovement.objects.exists()
    assert not StockLevel.objects.exists()


def test_an_adjustment_needs_a_reason_and_a_non_zero_change(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=5)
    with pytest.raises(ReasonRequired):
        adjust_stock(location=lisbon, sku=sneaker, delta=-1, reason="  ")
    with pytest.raises(InvalidQuantity):
        adjust_stock(location=lisbon, sku=sneaker, delta=0, reason="typo")
    assert StockMovement.objects.count() == 1
    assert level_of(lisbon, sneaker).on_hand == 5


def test_an_adjustment_changes_on_hand_and_keeps_its_reason(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=5)
    movement = adjust_stock(location=lisbon, sku=sneaker, delta=-2, reason="Shoplifted")
    assert (movement.kind, movement.delta, movement.reason) == ("adjustment", -2, "Shoplifted")
    assert level_of(lisbon, sneaker).on_hand == 3
    assert_ledger_matches()


def test_adjusting_below_what_is_reserved_is_refused_with_the_availability(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=3)
    reserve_stock(location=lisbon, sku=sneaker, quantity=2, owner_type="cart", owner_ref="c1")
    with pytest.raises(InsufficientStock) as refused:
        adjust_stock(location=lisbon, sku=sneaker, delta=-2, reason="Broken box")
    assert refused.value.details["lines"][0] == {
        "sku": "SNK-AIR-42",
        "location": "lisbon-chiado",
        "requested": 2,
        "on_hand": 3,
        "reserved": 2,
        "safety_stock": 0,
        "available": 1,
    }
    assert level_of(lisbon, sneaker).on_hand == 3
    assert_ledger_matches()


def test_a_cycle_count_sets_on_hand_and_writes_the_difference(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=10)
    movement = count_stock(location=lisbon, sku=sneaker, counted=7, expected=10)
    assert (movement.kind, movement.delta, movement.balance_after) == ("cycle_count", -3, 7)
    assert level_of(lisbon, sneaker).on_hand == 7
    assert_ledger_matches()


def test_a_count_taken_against_a_stale_quantity_is_refused_and_changes_nothing(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=10)
    # Ana starts counting at 10; a receipt lands before she submits.
    receive_stock(location=lisbon, sku=sneaker, quantity=2)
    with pytest.raises(StaleCount) as refused:
        count_stock(location=lisbon, sku=sneaker, counted=9, expected=10)
    assert refused.value.status_code == 409
    assert refused.value.details["on_hand"] == 12
    assert level_of(lisbon, sneaker).on_hand == 12
    assert not StockMovement.objects.filter(kind="cycle_count").exists()


def test_a_count_below_what_is_reserved_releases_and_flags_the_newest_reservations(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=4)
    older = reserve_stock(
        location=lisbon, sku=sneaker, quantity=2, owner_type="order", owner_ref="o1"
    )
    newer = reserve_stock(
        location=lisbon, sku=sneaker, quantity=2, owner_type="order", owner_ref="o2"
    )
    count_stock(location=lisbon, sku=sneaker, counted=2, expected=4)
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, older.needs_resourcing) == ("active", False)
    assert (newer.status, newer.needs_resourcing) == ("released", True)
    level = level_of(lisbon, sneaker)
    assert (level.on_hand, level.reserved) == (2, 2)
    assert_ledger_matches()


def test_marking_units_damaged_moves_them_off_on_hand(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=6)
    movement = mark_damaged(location=lisbon, sku=sneaker, quantity=2, reason="Water damage")
    level = level_of(lisbon, sneaker)
    assert (level.on_hand, level.damaged, movement.kind) == (4, 2, "damage")
    with pytest.raises(ReasonRequired):
        mark_damaged(location=lisbon, sku=sneaker, quantity=1, reason="")
    with pytest.raises(InsufficientStock):
        mark_damaged(location=lisbon, sku=sneaker, quantity=5, reason="Water damage")
    assert level_of(lisbon, sneaker).damaged == 2
    assert_ledger_matches()


def test_a_returned_unit_goes_back_on_hand_at_the_store_that_received_it(lisbon, porto, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=1)
    movement = restock_return(location=porto, sku=sneaker, quantity=1, return_reference="R-9")
    assert (movement.kind, movement.location, movement.reference_id) == (
        "return_restock",
        porto,
        "R-9",
    )
    assert level_of(porto, sneaker).on_hand == 1
    assert level_of(lisbon, sneaker).on_hand == 1
    assert_ledger_matches()


def test_a_location_that_takes_no_returns_cannot_restock_one(sneaker):
    warehouse = LocationFactory(code="dc-north", kind="warehouse", accepts_returns=False)
    with pytest.raises(ReturnsNotAccepted):
        restock_return(location=warehouse, sku=sneaker, quantity=1, return_reference="R-1")
    assert not StockMovement.objects.exists()


def test_safety_stock_is_never_offered_and_the_policy_writes_no_ledger_row(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=5)
    level = set_stock_policy(location=lisbon, sku=sneaker, safety_stock=2, reorder_point=4)
    assert (level.safety_stock, level.reorder_point, level.available) == (2, 4, 3)
    assert StockMovement.objects.count() == 1
    with pytest.raises(InsufficientStock):
        reserve_stock(location=lisbon, sku=sneaker, quantity=4, owner_type="cart", owner_ref="c")
    with pytest.raises(InvalidQuantity):
        set_stock_policy(location=lisbon, sku=sneaker, safety_stock=-1)
    assert level_of(lisbon, sneaker).safety_stock == 2
