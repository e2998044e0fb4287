"""Each business event lands in the webhook outbox from the service that makes it happen,
in the same transaction, with what an integration needs to act on it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.services.merge import merge_customers
from inventory.services.stock import adjust_stock
from omni.webhooks import services
from omni.webhooks.models import EventType, WebhookEvent
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest, place_order
from orders.services.fulfilment import (
    collect_pickup,
    expire_overdue_pickups,
    mark_ready_for_pickup,
)
from orders.services.returns import ReturnLineRequest, start_return
from tests.customers.factories import CustomerFactory
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener():
    return services.create_endpoint(
        name="Everything", url="https://erp.example.com/hooks", event_types=EventType.values
    )


@pytest.fixture
def chiado():
    return LocationFactory(code="lisbon-chiado", offers_click_and_collect=True)


@pytest.fixture
def sneaker(chiado):
    sku = SkuFactory(code="SNK-42", price=Decimal("80.00"))
    StockLevelFactory(location=chiado, sku=sku, on_hand=5)
    return sku


def events(kind: str) -> list[dict]:
    return [event.payload for event in WebhookEvent.objects.filter(type=kind).order_by("pk")]


def pickup_order(chiado, sneaker):
    return place_order(
        request=CheckoutRequest(
            channel="app",
            email="ana@example.com",
            lines=[LineRequest(sneaker.code, 1)],
            delivery=Delivery("click_and_collect", chiado),
        )
    )


def test_placing_an_order_emits_order_placed(listener, chiado, sneaker):
    order = pickup_order(chiado, sneaker)
    [placed] = events("order.placed")
    assert placed["order"] == order.number
    assert placed["order_id"] == str(order.public_id)
    assert placed["channel"] == "app"
    assert placed["total"] == "80.00"
    assert placed["lines"] == [{"sku": "SNK-42", "quantity": 1, "total": "80.00"}]
    assert placed["customer"] == str(order.customer.public_id)


def test_a_pickup_emits_ready_then_collected(listener, chiado, sneaker):
    order = pickup_order(chiado, sneaker)
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    [ready] = events("order.ready_for_pickup")
    assert ready["order"] == order.number
    assert ready["location"] == "lisbon-chiado"
    assert ready["pickup_deadline"] is not None
    assert not events("order.collected")

    collect_pickup(fulfilment=pickup, code=pickup.pickup_code)
    [collected] = events("order.collected")
    assert collected["status"] == "collected"
    assert collected["collected_at"] is not None


def test_a_pickup_past_its_deadline_emits_expired_once(listener, chiado, sneaker):
    order = pickup_order(chiado, sneaker)
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    later = pickup.pickup_deadline + timedelta(minutes=1)
    assert expire_overdue_pickups(now=later) == 1
    assert expire_overdue_pickups(now=later) == 0
    [expired] = events("order.pickup_expired")
    assert expired["order"] == order.number
    assert expired["status"] == "expired"


def test_a_return_taken_at_a_counter_emits_return_received(listener, chiado, sneaker):
    order = pickup_order(chiado, sneaker)
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    collect_pickup(fulfilment=pickup, code=pickup.pickup_code)
    returned = start_return(
        order=order,
        channel="store",
        location=chiado,
        lines=[ReturnLineRequest(order.lines.get().pk, 1, "too small")],
    )
    [received] = events("return.received")
    assert received["return"] == returned.number
    assert received["order"] == order.number
    assert received["location"] == "lisbon-chiado"
    assert received["lines"] == [{"sku": "SNK-42", "quantity": 1}]


def test_stock_falling_below_the_reorder_point_emits_stock_low_once(listener, chiado):
    sku = SkuFactory(code="SNK-43")
    StockLevelFactory(location=chiado, sku=sku, on_hand=6, reorder_point=3)
    adjust_stock(location=chiado, sku=sku, delta=-3, reason="shrinkage")  # 3 left: not below
    assert not events("stock.low")
    adjust_stock(location=chiado, sku=sku, delta=-1, reason="shrinkage")  # 2 left: below
    adjust_stock(location=chiado, sku=sku, delta=-1, reason="shrinkage")  # still below
    [low] = events("stock.low")
    assert low == {
        "location": "lisbon-chiado",
        "sku": "SNK-43",
        "on_hand": 2,
        "reserved": 0,
        "safety_stock": 0,
        "available": 2,
        "reorder_point": 3,
    }
    # Restocked above the line and sold down again: a new event.
    adjust_stock(location=chiado, sku=sku, delta=5, reason="found in back room")
    adjust_stock(location=chiado, sku=sku, delta=-6, reason="shrinkage")
    assert len(events("stock.low")) == 2


def test_a_reservation_that_takes_available_below_the_line_emits_stock_low(listener, chiado):
    sku = SkuFactory(code="SNK-44", price=Decimal("80.00"))
    StockLevelFactory(location=chiado, sku=sku, on_hand=3, reorder_point=3)
    pickup_order(chiado, sku)
    [low] = events("stock.low")
    assert (low["on_hand"], low["reserved"], low["available"]) == (3, 1, 2)


def test_merging_customers_emits_customer_merged(listener):
    survivor, merged = CustomerFactory(), CustomerFactory()
    record = merge_customers(survivor=survivor, merged=merged, reason="same person")
    [event] = events("customer.merged")
    assert event == {
        "survivor": str(survivor.public_id),
        "merged": str(merged.public_id),
        "merge_id": record.pk,
        "rule": "",
    }


def test_a_refused_change_emits_nothing(listener, chiado):
    sku = SkuFactory(code="SNK-45")
    StockLevelFactory(location=chiado, sku=sku, on_hand=1, reorder_point=3)
    WebhookEvent.objects.all().delete()
    with pytest.raises(Exception, match="stock"):
        adjust_stock(location=chiado, sku=sku, delta=-2, reason="shrinkage")
    assert not WebhookEvent.objects.exists()


def test_events_carry_when_they_happened(listener):
    survivor, merged = CustomerFactory(), CustomerFactory()
    before = timezone.now()
    merge_customers(survivor=survivor, merged=merged)
    assert WebhookEvent.objects.get().occurred_at >= before
