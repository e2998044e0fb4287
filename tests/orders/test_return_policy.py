from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Category
from orders.models import Fulfilment, Notification, Return, ReturnLine, ReturnPolicy
from orders.services.notifications import notify_customer
from orders.services.return_policy import evaluate_return
from tests.factories import LocationFactory
from tests.orders.factories import FulfilmentFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def collected_line(days_ago: int, quantity: int = 2):
    pickup = FulfilmentFactory(
        status=Fulfilment.Status.COLLECTED,
        collected_at=timezone.now() - timedelta(days=days_ago),
    )
    return OrderLineFactory(order=pickup.order, fulfilment=pickup, quantity=quantity)


def test_a_line_collected_ten_days_ago_may_come_back():
    verdict = evaluate_return(order_line=collected_line(10), quantity=2)
    assert verdict.allowed
    assert verdict.returnable_quantity == 2


def test_the_window_runs_from_collection_not_from_the_order():
    line = collected_line(29)
    line.order.placed_at = timezone.now() - timedelta(days=60)
    line.order.save()
    assert evaluate_return(order_line=line, quantity=1).allowed


def test_outside_the_window_is_refused_with_the_reason():
    verdict = evaluate_return(order_line=collected_line(31), quantity=1)
    assert not verdict.allowed
    assert verdict.reasons == ["outside the 30-day return window"]


def test_a_channel_policy_overrides_the_default():
    ReturnPolicy.objects.create(channel="web", window_days=60)
    assert evaluate_return(order_line=collected_line(45), quantity=1).allowed


def test_never_more_than_bought_across_all_returns():
    line = collected_line(3, quantity=2)
    earlier = Return.objects.create(
        number="RT-1", order=line.order, channel="store", location=LocationFactory()
    )
    ReturnLine.objects.create(return_request=earlier, order_line=line, quantity=1)
    verdict = evaluate_return(order_line=line, quantity=2)
    assert not verdict.allowed
    assert verdict.returnable_quantity == 1
    assert "only 1 of 2 left to return" in verdict.reasons


def test_a_cancelled_return_frees_its_units_again():
    line = collected_line(3, quantity=1)
    cancelled = Return.objects.create(
        number="RT-2", order=line.order, channel="store", status=Return.Status.CANCELLED
    )
    ReturnLine.objects.create(return_request=cancelled, order_line=line, quantity=1)
    assert evaluate_return(order_line=line, quantity=1).allowed


def test_final_sale_categories_cannot_come_back():
    line = collected_line(1)
    swimwear = Category.objects.create(name="Swimwear", slug="swimwear")
    line.sku.product.category = swimwear
    line.sku.product.save()
    policy = ReturnPolicy.objects.create(channel="")
    policy.final_sale_categories.add(swimwear)
    assert evaluate_return(order_line=line, quantity=1).reasons == ["final sale"]


def test_a_notification_is_recorded_once_per_key():
    line = collected_line(1)
    line.order.email = "ana@example.com"
    line.order.save()
    first = notify_customer(order=line.order, template="ready_for_pickup", key="ready:1")
    again = notify_customer(order=line.order, template="ready_for_pickup", key="ready:1")
    assert first.pk == again.pk
    assert Notification.objects.get().recipient == "ana@example.com"
