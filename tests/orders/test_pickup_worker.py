"""Pickups end to end with a real Celery worker running the periodic tasks beat sends."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from inventory.models import StockLevel
from omni.celery import app
from omni.services import ensure_schedules
from orders.models import Fulfilment, Notification
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest, place_order
from orders.services.fulfilment import collect_pickup, mark_ready_for_pickup
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def run_scheduled(task_name: str) -> None:
    """Send the task the way beat does, from its stored schedule."""
    ensure_schedules()
    task = PeriodicTask.objects.get(task=task_name)
    app.send_task(task.task)


def wait_for(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def lisbon_pickup():
    lisbon = LocationFactory(code="lisbon-chiado", offers_click_and_collect=True)
    sku = SkuFactory(code="SNK-42", price=Decimal("80.00"))
    StockLevelFactory(location=lisbon, sku=sku, on_hand=1)
    order = place_order(
        request=CheckoutRequest(
            channel="app",
            email="ana@example.com",
            lines=[LineRequest(sku.code, 1)],
            delivery=Delivery("click_and_collect", lisbon),
        )
    )
    return order, lisbon, sku


def test_ready_then_reminded_then_collected(celery_worker_thread, lisbon_pickup):
    order, lisbon, sku = lisbon_pickup
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    # The deadline is a day away: the reminder is due.
    Fulfilment.objects.filter(pk=pickup.pk).update(
        pickup_deadline=timezone.now() + timedelta(hours=12)
    )
    run_scheduled("orders.send_pickup_reminders")
    assert wait_for(lambda: Notification.objects.filter(template="pickup_reminder").exists())
    collect_pickup(fulfilment=Fulfilment.objects.get(pk=pickup.pk), code=pickup.pickup_code)
    level = StockLevel.objects.get(location=lisbon, sku=sku)
    assert (level.on_hand, level.reserved) == (0, 0)
    assert_ledger_matches()


def test_an_uncollected_pickup_expires_on_the_worker_and_stock_returns(
    celery_worker_thread, lisbon_pickup
):
    order, lisbon, sku = lisbon_pickup
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    Fulfilment.objects.filter(pk=pickup.pk).update(
        pickup_deadline=timezone.now() - timedelta(minutes=1)
    )
    run_scheduled("orders.expire_overdue_pickups")
    assert wait_for(lambda: Fulfilment.objects.get(pk=pickup.pk).status == "expired")
    assert wait_for(lambda: Notification.objects.filter(template="pickup_expired").exists())
    assert StockLevel.objects.get(location=lisbon, sku=sku).reserved == 0
    assert_ledger_matches()
