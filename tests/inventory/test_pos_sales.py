"""POS direct sales: always recorded, discrepancies raised, reservations flagged."""

import pytest

from inventory.models import PosStockSale, StockDiscrepancy, StockLevel, StockMovement
from inventory.services.pos import PosSaleReferenceReused, SaleLine, record_pos_sale
from inventory.services.reservations import reserve_stock
from inventory.services.stock import InvalidQuantity
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches

pytestmark = pytest.mark.django_db


@pytest.fixture
def tote(db):
    return SkuFactory(code="TOTE-BLK")


@pytest.fixture
def cap(db):
    return SkuFactory(code="CAP-WHT")


def level_of(location, sku) -> StockLevel:
    return StockLevel.objects.get(location=location, sku=sku)


def test_a_pos_sale_takes_the_units_from_the_store(lisbon, tote, cap):
    StockLevelFactory(location=lisbon, sku=tote, on_hand=5)
    StockLevelFactory(location=lisbon, sku=cap, on_hand=2)
    result = record_pos_sale(
        location=lisbon,
        reference="LIS-R1-0001",
        lines=[SaleLine(tote, 2), SaleLine(cap, 1), SaleLine(tote, 1)],
    )
    assert not result.replayed
    assert not result.discrepancies
    assert level_of(lisbon, tote).on_hand == 2
    assert level_of(lisbon, cap).on_hand == 1
    assert {(m.sku.code, m.delta) for m in result.movements} == {("TOTE-BLK", -3), ("CAP-WHT", -1)}
    assert all(m.reference_type == "pos_sale" for m in result.movements)
    assert_ledger_matches()


def test_selling_more_than_recorded_empties_the_shelf_and_opens_a_discrepancy(lisbon, tote):
    StockLevelFactory(location=lisbon, sku=tote, on_hand=1)
    result = record_pos_sale(location=lisbon, reference="LIS-R1-0002", lines=[SaleLine(tote, 3)])
    assert level_of(lisbon, tote).on_hand == 0
    (movement,) = result.movements
    assert (movement.delta, movement.balance_after) == (-1, 0)
    discrepancy = StockDiscrepancy.objects.get()
    assert (discrepancy.location, discrepancy.kind, discrepancy.status) == (
        lisbon,
        "pos_oversale",
        "open",
    )
    assert (discrepancy.recorded_on_hand, discrepancy.quantity, discrepancy.shortfall) == (1, 3, 2)
    assert discrepancy.movement == movement
    assert_ledger_matches()


def test_an_oversale_flags_the_online_reservations_it_left_without_stock(lisbon, porto, tote):
    StockLevelFactory(location=lisbon, sku=tote, on_hand=3)
    StockLevelFactory(location=porto, sku=tote, on_hand=3)
    first = reserve_stock(
        location=lisbon, sku=tote, quantity=1, owner_type="pickup", owner_ref="P-1"
    )
    second = reserve_stock(
        location=lisbon, sku=tote, quantity=1, owner_type="order", owner_ref="O-2"
    )
    elsewhere = reserve_stock(
        location=porto, sku=tote, quantity=1, owner_type="order", owner_ref="O-3"
    )
    # The counter sells 2 of the 3: one unit remains, enough for the first reservation only.
    result = record_pos_sale(location=lisbon, reference="LIS-R2-0001", lines=[SaleLine(tote, 2)])
    assert [reservation.pk for reservation in result.flagged_reservations] == [second.pk]
    for reservation in (first, second, elsewhere):
        reservation.refresh_from_db()
    assert (first.status, first.needs_resourcing) == ("active", False)
    assert (second.status, second.needs_resourcing) == ("released", True)
    assert (elsewhere.status, elsewhere.needs_resourcing) == ("active", False)
    level = level_of(lisbon, tote)
    assert (level.on_hand, level.reserved) == (1, 1)
    assert not StockDiscrepancy.objects.exists()
    assert_ledger_matches()


def test_an_oversale_with_reservations_flags_them_all_and_records_the_shortfall(lisbon, tote):
    StockLevelFactory(location=lisbon, sku=tote, on_hand=2)
    held = reserve_stock(location=lisbon, sku=tote, quantity=2, owner_type="order", owner_ref="O")
    result = record_pos_sale(location=lisbon, reference="LIS-R2-0002", lines=[SaleLine(tote, 4)])
    held.refresh_from_db()
    assert held.needs_resourcing
    assert held.status == "released"
    assert result.discrepancies[0].shortfall == 2
    level = level_of(lisbon, tote)
    assert (level.on_hand, level.reserved) == (0, 0)
    assert_ledger_matches()


def test_the_same_pos_sale_posted_twice_is_recorded_once(lisbon, tote):
    StockLevelFactory(location=lisbon, sku=tote, on_hand=5)
    first = record_pos_sale(location=lisbon, reference="LIS-R1-0003", lines=[SaleLine(tote, 2)])
    again = record_pos_sale(location=lisbon, reference="LIS-R1-0003", lines=[SaleLine(tote, 2)])
    assert again.replayed
    assert [m.pk for m in again.movements] == [m.pk for m in first.movements]
    assert level_of(lisbon, tote).on_hand == 3
    assert PosStockSale.objects.count() == 1
    with pytest.raises(PosSaleReferenceReused):
        record_pos_sale(location=lisbon, reference="LIS-R1-0003", lines=[SaleLine(tote, 1)])
    assert level_of(lisbon, tote).on_hand == 3
    assert_ledger_matches()


def test_a_pos_sale_of_a_sku_never_stocked_there_is_recorded_as_a_discrepancy(porto, tote):
    record_pos_sale(location=porto, reference="POR-1", lines=[SaleLine(tote, 1)])
    assert level_of(porto, tote).on_hand == 0
    assert StockDiscrepancy.objects.get().shortfall == 1
    assert_ledger_matches()


@pytest.mark.parametrize("quantity", [0, -2])
def test_a_pos_line_with_no_units_is_refused_and_writes_nothing(lisbon, tote, quantity):
    StockLevelFactory(location=lisbon, sku=tote, on_hand=5)
    with pytest.raises(InvalidQuantity):
        record_pos_sale(location=lisbon, reference="LIS-X", lines=[SaleLine(tote, quantity)])
    assert not PosStockSale.objects.exists()
    assert StockMovement.objects.count() == 1
