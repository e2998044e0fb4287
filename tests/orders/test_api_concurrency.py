"""Two counters racing for the same pickup, over the API and against PostgreSQL."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from inventory.models import StockLevel
from omni.models import Role
from orders.models import Fulfilment, OrderEvent
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest, place_order
from orders.services.fulfilment import mark_ready_for_pickup
from tests.factories import LocationFactory, make_staff
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches


@pytest.mark.django_db(transaction=True)
def test_two_clerks_collecting_the_same_pickup_hand_it_over_once():
    lisbon = LocationFactory(code="lisbon-chiado", offers_click_and_collect=True)
    sku = SkuFactory(code="SNK-AURA-BLK-42", price="80.00")
    StockLevelFactory(location=lisbon, sku=sku, on_hand=1)
    order = place_order(
        request=CheckoutRequest(
            channel="app",
            email="ana@example.com",
            lines=[LineRequest(sku.code, 1)],
            delivery=Delivery(method="click_and_collect", pickup_location=lisbon),
        )
    )
    part = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    clerks = [make_staff(name, Role.STORE_ASSOCIATE, [lisbon]) for name in ("ana", "rui")]
    url = f"/api/v1/orders/{order.number}/fulfilments/{part.pk}/collect/"
    start = threading.Barrier(len(clerks))
    statuses = []

    def collect(user):
        client = APIClient()
        client.force_login(user)
        start.wait()
        try:
            statuses.append(client.post(url, {"code": part.pickup_code}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=collect, args=(user,)) for user in clerks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 409]
    assert Fulfilment.objects.get(pk=part.pk).status == Fulfilment.Status.COLLECTED
    assert OrderEvent.objects.filter(kind="fulfilment.collected").count() == 1
    assert StockLevel.objects.get(location=lisbon, sku=sku).on_hand == 0
    assert_ledger_matches()
