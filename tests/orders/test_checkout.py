"""Orders from the web shop and app: reserved all-or-nothing, collected or shipped."""

from decimal import Decimal

import pytest

from customers.models import Identity
from inventory.models import Location, Reservation, StockLevel
from omni.errors import DomainError
from orders.models import Fulfilment, Notification, Order, OrderLine
from orders.services.checkout import (
    CheckoutRequest,
    Delivery,
    LineRequest,
    PaymentRequest,
    place_order,
)
from orders.services.fulfilment import (
    cancel_order,
    check_in_curbside,
    collect_pickup,
    expire_overdue_pickups,
    mark_ready_for_pickup,
    pack_fulfilment,
    pick_fulfilment,
    receive_pickup_transfer,
    send_pickup_reminders,
    ship_fulfilment,
    ship_pickup_transfer,
)
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches

pytestmark = pytest.mark.django_db
S = Fulfilment.Status


@pytest.fixture
def lisbon():
    return LocationFactory(
        code="lisbon-chiado",
        name="Lisbon Chiado",
        offers_click_and_collect=True,
        offers_curbside=True,
        pickup_hold_days=5,
        latitude=Decimal("38.71"),
        longitude=Decimal("-9.14"),
    )


@pytest.fixture
def warehouse():
    return LocationFactory(
        code="warehouse-central",
        name="Central warehouse",
        kind=Location.Kind.WAREHOUSE,
        ships_to_customers=True,
        latitude=Decimal("40.0"),
        longitude=Decimal("-8.0"),
    )


@pytest.fixture
def sneaker():
    return SkuFactory(code="SNK-42", price=Decimal("80.00"))


def pickup_request(sku, store, quantity=1, method="click_and_collect", **extra):
    return CheckoutRequest(
        channel="app",
        email="ana@example.com",
        lines=[LineRequest(sku.code, quantity)],
        delivery=Delivery(method=method, pickup_location=store),
        **extra,
    )


def level(location, sku) -> StockLevel:
    return StockLevel.objects.get(location=location, sku=sku)


def test_ana_orders_on_the_app_and_collects_in_lisbon(
    lisbon, sneaker, django_capture_on_commit_callbacks
):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=3)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(request=pickup_request(sneaker, lisbon))
    assert order.status == Order.Status.ALLOCATED
    assert order.total == Decimal("80.00")
    assert order.tax_total == Decimal("14.96")
    assert Identity.objects.get(kind="email").customer_id == order.customer_id
    assert (level(lisbon, sneaker).on_hand, level(lisbon, sneaker).reserved) == (3, 1)
    assert Notification.objects.filter(template="order_confirmation").count() == 1

    pickup = order.fulfilments.get()
    with django_capture_on_commit_callbacks(execute=True):
        pickup = mark_ready_for_pickup(fulfilment=pickup)
    assert len(pickup.pickup_code) == 6
    assert Notification.objects.get(template="ready_for_pickup").context["code"] == (
        pickup.pickup_code
    )

    with pytest.raises(DomainError) as refused:
        collect_pickup(
            fulfilment=pickup, code="000000" if pickup.pickup_code != "000000" else "111111"
        )
    assert refused.value.code == "wrong_pickup_code"
    assert Fulfilment.objects.get(pk=pickup.pk).status == S.READY_FOR_PICKUP

    collect_pickup(fulfilment=pickup, code=pickup.pickup_code)
    assert Order.objects.get(pk=order.pk).status == Order.Status.FULFILLED
    assert (level(lisbon, sneaker).on_hand, level(lisbon, sneaker).reserved) == (2, 0)
    assert_ledger_matches()


def test_an_uncollected_pickup_expires_and_its_stock_returns(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=1)
    order = place_order(request=pickup_request(sneaker, lisbon))
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    assert expire_overdue_pickups(now=pickup.pickup_deadline) == 0
    later = (
        pickup.pickup_deadline.replace(microsecond=0)
        + (pickup.pickup_deadline - pickup.ready_at) / 100
    )
    assert expire_overdue_pickups(now=later) == 1
    assert Fulfilment.objects.get(pk=pickup.pk).status == S.EXPIRED
    assert level(lisbon, sneaker).reserved == 0
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert expire_overdue_pickups(now=later) == 0
    assert_ledger_matches()


def test_a_reminder_goes_once_a_day_before_the_deadline(
    lisbon, sneaker, django_capture_on_commit_callbacks
):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=1)
    order = place_order(request=pickup_request(sneaker, lisbon))
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    from datetime import timedelta

    day_before = pickup.pickup_deadline - timedelta(hours=20)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_pickup_reminders(now=pickup.ready_at) == 0
        assert send_pickup_reminders(now=day_before) == 1
        assert send_pickup_reminders(now=day_before) == 0
    assert Notification.objects.filter(template="pickup_reminder").count() == 1


def test_a_curbside_arrival_is_recorded_for_the_queue(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=1)
    order = place_order(request=pickup_request(sneaker, lisbon, method="curbside"))
    pickup = order.fulfilments.get()
    with pytest.raises(DomainError):
        check_in_curbside(fulfilment=pickup, note="too early")
    pickup = mark_ready_for_pickup(fulfilment=pickup)
    pickup = check_in_curbside(fulfilment=pickup, note="bay 3, red car")
    assert pickup.arrived_at is not None
    assert pickup.arrival_note == "bay 3, red car"


def test_not_enough_stock_anywhere_is_409_and_writes_nothing(lisbon, warehouse, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=1)
    with pytest.raises(DomainError) as refused:
        place_order(request=pickup_request(sneaker, lisbon, quantity=2))
    assert refused.value.code == "insufficient_stock"
    assert refused.value.status_code == 409
    assert refused.value.details["lines"][0]["available"] == 1
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert not Identity.objects.exists()


def test_pickup_at_a_store_that_does_not_offer_it_is_refused(sneaker):
    porto = LocationFactory(code="porto-baixa", offers_click_and_collect=False)
    StockLevelFactory(location=porto, sku=sneaker, on_hand=5)
    with pytest.raises(DomainError) as refused:
        place_order(request=pickup_request(sneaker, porto))
    assert refused.value.code == "location_cannot_fulfil"
    assert not Order.objects.exists()


def test_an_unknown_sku_or_bad_quantity_is_refused(lisbon, sneaker):
    for lines, code in [
        ([LineRequest("NOPE", 1)], "unknown_sku"),
        ([LineRequest(sneaker.code, 0)], "bad_request"),
        ([], "empty_order"),
    ]:
        request = pickup_request(sneaker, lisbon)
        request.lines = lines
        with pytest.raises(DomainError) as refused:
            place_order(request=request)
        assert refused.value.code == code
    assert not Order.objects.exists()


def test_payments_that_do_not_add_up_are_refused_and_nothing_is_held(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=2)
    request = pickup_request(sneaker, lisbon, payments=[PaymentRequest("card", Decimal("10"))])
    with pytest.raises(DomainError) as refused:
        place_order(request=request)
    assert refused.value.code == "payment_mismatch"
    assert level(lisbon, sneaker).reserved == 0
    assert not Order.objects.exists()


def test_a_web_order_ships_from_the_warehouse_and_the_sale_happens_when_it_leaves(
    warehouse, sneaker
):
    StockLevelFactory(location=warehouse, sku=sneaker, on_hand=4)
    order = place_order(
        request=CheckoutRequest(
            channel="web",
            email="rui@example.com",
            lines=[LineRequest(sneaker.code, 2)],
            delivery=Delivery(method="ship"),
            payments=[PaymentRequest("card", Decimal("160.00"), "psp-1", captured=True)],
        )
    )
    parcel = order.fulfilments.get()
    assert (parcel.method, parcel.location_id) == (Fulfilment.Method.SHIP, warehouse.pk)
    pick_fulfilment(fulfilment=parcel)
    pack_fulfilment(fulfilment=parcel)
    assert level(warehouse, sneaker).on_hand == 4
    ship_fulfilment(fulfilment=parcel, carrier="CTT", tracking_number="RR123PT")
    assert (level(warehouse, sneaker).on_hand, level(warehouse, sneaker).reserved) == (2, 0)
    assert_ledger_matches()


def test_cancelling_releases_the_held_stock(warehouse, sneaker):
    StockLevelFactory(location=warehouse, sku=sneaker, on_hand=1)
    order = place_order(
        request=CheckoutRequest(
            channel="web",
            email="rui@example.com",
            lines=[LineRequest(sneaker.code, 1)],
            delivery=Delivery(method="ship"),
        )
    )
    cancel_order(order=order, reason="customer changed their mind")
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert level(warehouse, sneaker).reserved == 0


def test_what_lisbon_lacks_comes_by_transfer_before_the_pickup(lisbon, warehouse, sneaker):
    StockLevelFactory(location=warehouse, sku=sneaker, on_hand=3)
    order = place_order(request=pickup_request(sneaker, lisbon, quantity=2))
    pickup = order.fulfilments.get()
    assert pickup.status == S.AWAITING_TRANSFER
    assert pickup.location_id == lisbon.pk
    assert level(warehouse, sneaker).reserved == 2
    ship_pickup_transfer(fulfilment=pickup)
    assert (level(warehouse, sneaker).on_hand, level(warehouse, sneaker).reserved) == (1, 0)
    pickup = receive_pickup_transfer(fulfilment=Fulfilment.objects.get(pk=pickup.pk))
    assert pickup.status == S.ALLOCATED
    assert (level(lisbon, sneaker).on_hand, level(lisbon, sneaker).reserved) == (2, 2)
    pickup = mark_ready_for_pickup(fulfilment=pickup)
    collect_pickup(fulfilment=pickup, code=pickup.pickup_code)
    assert (level(lisbon, sneaker).on_hand, level(lisbon, sneaker).reserved) == (0, 0)
    assert OrderLine.objects.get(order=order).reservation_id is not None
    assert_ledger_matches()


def test_the_same_guest_email_twice_is_one_customer(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=5)
    first = place_order(request=pickup_request(sneaker, lisbon))
    second = place_order(request=pickup_request(sneaker, lisbon))
    assert first.customer_id == second.customer_id


def test_one_order_may_mix_a_pickup_and_a_parcel(lisbon, warehouse, sneaker):
    tee = SkuFactory(code="TEE-1", price=Decimal("20.00"))
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=1)
    StockLevelFactory(location=warehouse, sku=tee, on_hand=5)
    order = place_order(
        request=CheckoutRequest(
            channel="web",
            email="ana@example.com",
            lines=[
                LineRequest(sneaker.code, 1),
                LineRequest(tee.code, 2, delivery=Delivery(method="ship")),
            ],
            delivery=Delivery(method="click_and_collect", pickup_location=lisbon),
        )
    )
    parts = {(f.method, f.location.code) for f in order.fulfilments.all()}
    assert parts == {("click_and_collect", "lisbon-chiado"), ("ship", "warehouse-central")}
    assert order.total == Decimal("120.00")


def test_the_same_sku_two_ways_in_one_order_is_refused(lisbon, warehouse, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=3)
    with pytest.raises(DomainError) as refused:
        place_order(
            request=CheckoutRequest(
                channel="web",
                email="ana@example.com",
                lines=[
                    LineRequest(sneaker.code, 1),
                    LineRequest(sneaker.code, 1, delivery=Delivery(method="ship")),
                ],
                delivery=Delivery(method="click_and_collect", pickup_location=lisbon),
            )
        )
    assert refused.value.status_code == 400
    assert not Order.objects.exists()
