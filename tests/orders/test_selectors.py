"""The pickup queue and the daily summary read the right pickups and sales for a store."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from orders.models import Fulfilment, Order
from orders.selectors import pickup_queue, store_summary, store_today, visible_orders
from tests.factories import LocationFactory, make_staff
from tests.orders.factories import FulfilmentFactory, OrderFactory

pytestmark = pytest.mark.django_db
S = Fulfilment.Status


@pytest.fixture
def lisbon():
    return LocationFactory(code="lisbon-chiado", time_zone="Europe/Lisbon")


def pickup(store, status, **fields):
    return FulfilmentFactory(location=store, status=status, **fields)


def test_each_open_pickup_is_in_exactly_one_section_most_urgent_first(lisbon):
    now = timezone.now()
    to_pick = pickup(lisbon, S.ALLOCATED)
    transfer = pickup(lisbon, S.AWAITING_TRANSFER)
    waiting = pickup(
        lisbon,
        S.READY_FOR_PICKUP,
        method="curbside",
        arrived_at=now - timedelta(minutes=4),
        pickup_deadline=now - timedelta(hours=1),
    )
    overdue = pickup(lisbon, S.READY_FOR_PICKUP, pickup_deadline=now - timedelta(minutes=1))
    ready = pickup(lisbon, S.READY_FOR_PICKUP, pickup_deadline=now + timedelta(days=3))
    pickup(lisbon, S.COLLECTED)
    pickup(LocationFactory(code="porto-baixa"), S.ALLOCATED)
    FulfilmentFactory(location=lisbon, status=S.ALLOCATED, method="ship")

    queue = pickup_queue(location=lisbon, now=now)

    assert queue.to_pick == [to_pick]
    assert queue.awaiting_transfer == [transfer]
    assert queue.curbside_waiting == [waiting]
    assert queue.overdue == [overdue]
    assert queue.ready == [ready]
    assert queue.due_today == []


def test_a_pickup_due_before_the_stores_midnight_is_due_today(lisbon):
    morning = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Lisbon"))
    tonight = pickup(lisbon, S.READY_FOR_PICKUP, pickup_deadline=morning.replace(hour=23))
    tomorrow = pickup(lisbon, S.READY_FOR_PICKUP, pickup_deadline=morning + timedelta(days=1))
    queue = pickup_queue(location=lisbon, now=morning)
    assert queue.due_today == [tonight]
    assert queue.ready == [tomorrow]


def test_the_days_summary_counts_sales_by_channel_and_leaves_out_cancelled_orders(lisbon):
    today = store_today(lisbon)
    OrderFactory(channel="store", location=lisbon, total=Decimal("40.00"), status="completed")
    OrderFactory(channel="store", location=lisbon, total=Decimal("10.00"), status="completed")
    OrderFactory(channel="web", location=lisbon, total=Decimal("99.00"), status="cancelled")
    collected = pickup(lisbon, S.COLLECTED, collected_at=timezone.now())
    Order.objects.filter(pk=collected.order_id).update(total=Decimal("25.00"))

    summary = store_summary(location=lisbon, day=today)

    by_channel = {row.channel: (row.orders, row.total) for row in summary.sales}
    assert by_channel == {"store": (2, Decimal("50.00")), "web": (1, Decimal("25.00"))}
    assert summary.sales_total == Decimal("75.00")
    assert summary.pickups_collected == 1


def test_a_clerk_sees_orders_placed_or_fulfilled_at_their_store_only(lisbon):
    porto = LocationFactory(code="porto-baixa")
    placed_here = OrderFactory(location=lisbon)
    collected_here = pickup(lisbon, S.ALLOCATED).order
    elsewhere = pickup(porto, S.ALLOCATED).order
    clerk = make_staff("ana", locations=[lisbon])
    seen = set(visible_orders(clerk))
    assert {placed_here, collected_here} <= seen
    assert elsewhere not in seen
