"""The invariant every inventory test ends on: the ledger explains every stock level."""

from django.db.models import Sum

from inventory.models import Reservation, StockLevel, StockMovement


def assert_ledger_matches(levels=None) -> None:
    """For every stock level (or the given ones): on hand == SUM(delta) of its movements,
    reserved == SUM(reserved_delta) == the quantity of its active reservations, and no
    quantity is negative or over-reserved."""
    queryset = StockLevel.objects.all()
    if levels is not None:
        queryset = queryset.filter(pk__in=[level.pk for level in levels])
    sums = {
        row["stock_level_id"]: row
        for row in StockMovement.objects.values("stock_level_id").annotate(
            on_hand=Sum("delta"), reserved=Sum("reserved_delta")
        )
    }
    held = {
        (row["location_id"], row["sku_id"]): row["total"]
        for row in Reservation.objects.filter(status=Reservation.Status.ACTIVE)
        .values("location_id", "sku_id")
        .annotate(total=Sum("quantity"))
    }
    for level in queryset:
        ledger = sums.get(level.pk, {"on_hand": 0, "reserved": 0})
        place = f"{level.sku_id}@{level.location_id}"
        assert level.on_hand == ledger["on_hand"], f"{place}: on hand differs from the ledger"
        assert level.reserved == ledger["reserved"], f"{place}: reserved differs from the ledger"
        assert level.reserved == held.get((level.location_id, level.sku_id), 0), (
            f"{place}: reserved differs from active reservations"
        )
        assert 0 <= level.reserved <= level.on_hand, f"{place}: over-reserved"
        assert level.damaged >= 0
