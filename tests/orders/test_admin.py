"""The store desks without a browser: who may open which store's desk, and the buttons."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

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
