"""The store desks without a browser: who may open which store's desk, and the buttons."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from inventory.models import StockLevel
from omni.models import Role
from orders.models import Fulfilment
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest, place_order
from tests.factories import LocationFactory, make_staff
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db
QUEUE = "/admin/orders/pickupdesk/"


@pytest.fixture
def lisbon():
    return LocationFactory(
        code="lisbon-chiado", name="Lisbon Chiado", offers_click_and_collect=True
    )


@pytest.fixture
def porto():
    return LocationFactory(code="porto-baixa", name="Porto Baixa", offers_click_and_collect=True)


@pytest.fixture
def pickup(lisbon, django_capture_on_commit_callbacks):
    sku = SkuFactory(code="CAP-SIX-BLK-OS", price="25.00")
    StockLevelFactory(location=lisbon, sku=sku, on_hand=2)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(
            request=CheckoutRequest(
                channel="web",
                email="ana@example.com",
                lines=[LineRequest(sku.code, 1)],
                delivery=Delivery(method="click_and_collect", pickup_location=lisbon),
            )
        )
    return order.fulfilments.get()


def last_message(response) -> str:
    return [str(message) for message in get_messages(response.wsgi_request)][-1]


def test_an_administrator_chooses_the_store_of_the_queue(client, pickup, porto):
    boss = make_staff("boss", Role.ADMINISTRATOR)
    client.force_login(boss)
    chooser = client.get(QUEUE)
    assert chooser.status_code == 200
    assert "Choose the store" in chooser.text
    queue = client.get(f"{QUEUE}?location=lisbon-chiado")
    assert pickup.order.number in queue.text


def test_a_clerk_cannot_open_another_stores_desk_or_press_its_buttons(client, pickup, porto):
    client.force_login(make_staff("rita", Role.STORE_ASSOCIATE, [porto]))
    assert pickup.order.number not in client.get(QUEUE).text
    assert client.get(f"{QUEUE}?location=lisbon-chiado").status_code == 404
    assert client.post(f"{QUEUE}{pickup.pk}/ready/").status_code == 404
    assert Fulfilment.objects.get(pk=pickup.pk).status == Fulfilment.Status.ALLOCATED


def test_a_wrong_code_is_told_in_plain_words_and_changes_nothing(client, pickup, lisbon):
    client.force_login(make_staff("ana", Role.STORE_ASSOCIATE, [lisbon]))
    ready = client.post(f"{QUEUE}{pickup.pk}/ready/")
    assert ready.status_code == 302
    assert "is ready for pickup" in last_message(ready)
    wrong = client.post(f"{QUEUE}{pickup.pk}/collect/", {"code": "not-it"})
    assert "does not match" in last_message(wrong)
    unknown = client.post(f"{QUEUE}scan/", {"code": "000000x", "location": "lisbon-chiado"})
    assert "No order ready here" in last_message(unknown)
    assert Fulfilment.objects.get(pk=pickup.pk).status == Fulfilment.Status.READY_FOR_PICKUP
    assert client.get(f"{QUEUE}{pickup.pk}/ready/").status_code == 405


def test_a_marketer_reads_orders_but_has_no_buttons(client, pickup):
    client.force_login(make_staff("marta", Role.MARKETER))
    page = client.get(f"{QUEUE}?location=lisbon-chiado")
    assert page.status_code == 200
    assert "Mark ready" not in page.text
    assert client.post(f"{QUEUE}{pickup.pk}/ready/").status_code == 404


def test_the_order_page_shows_lines_fulfilments_and_history(client, pickup, lisbon):
    client.force_login(make_staff("ana", Role.STORE_ASSOCIATE, [lisbon]))
    page = client.get(f"/admin/orders/order/{pickup.order_id}/change/")
    assert page.status_code == 200
    for text in ["CAP-SIX-BLK-OS", "Click and collect", "order.placed", "order_confirmation"]:
        assert text in page.text
    assert f"{Decimal('25.00')}" in page.text


def delivered_web_order(days_ago: int):
    """Marta's web order, shipped from the warehouse and delivered `days_ago` days ago."""
    from datetime import timedelta

    from django.utils import timezone

    from inventory.models import Location
    from orders.services.checkout import PaymentRequest
    from orders.services.fulfilment import (
        deliver_fulfilment,
        pack_fulfilment,
        pick_fulfilment,
        ship_fulfilment,
    )

    warehouse = LocationFactory(
        code="warehouse-central", kind=Location.Kind.WAREHOUSE, ships_to_customers=True
    )
    tee = SkuFactory(code="TEE-ESS-WHT-M", price="25.00")
    StockLevelFactory(location=warehouse, sku=tee, on_hand=3)
    order = place_order(
        request=CheckoutRequest(
            channel="web",
            email="marta@example.com",
            lines=[LineRequest(tee.code, 1)],
            delivery=Delivery(method="ship"),
            payments=[PaymentRequest("card", Decimal("25.00"), "psp-2", True)],
        )
    )
    part = pack_fulfilment(fulfilment=pick_fulfilment(fulfilment=order.fulfilments.get()))
    deliver_fulfilment(
        fulfilment=ship_fulfilment(fulfilment=part, carrier="CTT", tracking_number="R")
    )
    Fulfilment.objects.filter(order=order).update(
        delivered_at=timezone.now() - timedelta(days=days_ago)
    )
    return order


@pytest.fixture
def old_web_order(lisbon):
    """Outside the 30-day window."""
    return delivered_web_order(40)


def take_return(client, order, **extra):
    line = order.lines.get()
    return client.post(
        "/admin/orders/returnsdesk/take/",
        {
            "location": "lisbon-chiado",
            "order": order.pk,
            f"quantity_{line.pk}": "1",
            f"condition_{line.pk}": "resellable",
            "refund_method": "original_payment",
            **extra,
        },
    )


def test_a_return_outside_the_window_needs_a_managers_reason(client, old_web_order, lisbon):
    from orders.models import Return

    client.force_login(make_staff("ana", Role.STORE_ASSOCIATE, [lisbon]))
    desk = client.get("/admin/orders/returnsdesk/?q=marta@example.com")
    assert "Outside policy" in desk.text
    assert "30-day return window" in desk.text
    refused = take_return(client, old_web_order)
    assert "Return not taken" in last_message(refused)
    assert "30-day return window" in last_message(refused)
    tried = take_return(client, old_web_order, override_reason="goodwill")
    assert "store manager" in last_message(tried)
    assert not Return.objects.exists()

    client.force_login(make_staff("rui", Role.STORE_MANAGER, [lisbon]))
    accepted = take_return(client, old_web_order, override_reason="faulty seam, goodwill")
    assert "refunded to original payment" in last_message(accepted)
    taken = Return.objects.get()
    assert (taken.override_reason, taken.override_by.username) == ("faulty seam, goodwill", "rui")


def test_a_return_requested_online_is_received_at_the_lisbon_desk(client, lisbon):
    from orders.models import Return
    from orders.services.returns import ReturnLineRequest, start_return

    order = delivered_web_order(3)
    requested = start_return(
        order=order,
        lines=[ReturnLineRequest(order_line_id=order.lines.get().pk, quantity=1)],
        channel="web",
    )
    client.force_login(make_staff("ana", Role.STORE_ASSOCIATE, [lisbon]))
    desk = client.get(f"/admin/orders/returnsdesk/?q={order.number}")
    assert f"Requested online: return {requested.number}" in desk.text
    line = requested.lines.get()
    done = client.post(
        "/admin/orders/returnsdesk/receive/",
        {
            "location": "lisbon-chiado",
            "return": requested.pk,
            f"condition_{line.pk}": "damaged",
            "refund_method": "store_credit",
        },
    )
    assert "received here" in last_message(done)
    requested = Return.objects.get(pk=requested.pk)
    assert (requested.status, requested.location) == ("refunded", lisbon)
    level = StockLevel.objects.get(location=lisbon, sku=line.order_line.sku)
    assert (level.on_hand, level.damaged) == (0, 1)  # damaged: not for sale here
