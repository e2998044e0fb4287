import pytest

from omni.errors import DomainError
from orders.models import Fulfilment, Order, OrderEvent
from orders.services.transitions import transition_fulfilment
from tests.orders.factories import FulfilmentFactory, OrderFactory

pytestmark = pytest.mark.django_db
S = Fulfilment.Status


def test_a_pickup_moves_step_by_step_and_every_step_is_an_event():
    pickup = FulfilmentFactory()
    for step in [S.ALLOCATED, S.READY_FOR_PICKUP, S.COLLECTED]:
        transition_fulfilment(fulfilment=pickup, to=step)
    assert pickup.status == S.COLLECTED
    kinds = list(OrderEvent.objects.filter(fulfilment=pickup).values_list("kind", flat=True))
    assert kinds == ["fulfilment.allocated", "fulfilment.ready_for_pickup", "fulfilment.collected"]
    assert Order.objects.get(pk=pickup.order_id).status == Order.Status.FULFILLED


def test_skipping_a_step_is_409_and_changes_nothing():
    pickup = FulfilmentFactory()
    with pytest.raises(DomainError) as refused:
        transition_fulfilment(fulfilment=pickup, to=S.COLLECTED)
    assert refused.value.code == "invalid_transition"
    assert refused.value.status_code == 409
    assert Fulfilment.objects.get(pk=pickup.pk).status == S.PLACED
    assert not OrderEvent.objects.exists()


def test_a_shipped_parcel_can_no_longer_be_cancelled():
    parcel = FulfilmentFactory(method=Fulfilment.Method.SHIP)
    for step in [S.ALLOCATED, S.PICKED, S.PACKED, S.SHIPPED]:
        transition_fulfilment(fulfilment=parcel, to=step)
    with pytest.raises(DomainError):
        transition_fulfilment(fulfilment=parcel, to=S.CANCELLED)


def test_an_order_with_one_part_collected_is_partially_fulfilled():
    order = OrderFactory()
    first, second = FulfilmentFactory(order=order), FulfilmentFactory(order=order)
    for step in [S.ALLOCATED, S.READY_FOR_PICKUP, S.COLLECTED]:
        transition_fulfilment(fulfilment=first, to=step)
    transition_fulfilment(fulfilment=second, to=S.ALLOCATED)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PARTIALLY_FULFILLED


def test_an_order_whose_only_pickup_expired_is_cancelled():
    pickup = FulfilmentFactory()
    for step in [S.ALLOCATED, S.READY_FOR_PICKUP, S.EXPIRED]:
        transition_fulfilment(fulfilment=pickup, to=step)
    assert Order.objects.get(pk=pickup.order_id).status == Order.Status.CANCELLED
