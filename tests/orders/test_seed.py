"""The demo seed: months of orders, pickups in every state, and a ledger that still adds up."""

import io
import time

import pytest
from django.core.management import call_command

from orders.models import DiscountCode, Fulfilment, Order, Redemption, Return
from tests.inventory.ledger import assert_ledger_matches

pytestmark = pytest.mark.django_db


def test_the_demo_seed_fills_every_desk_quickly_and_keeps_the_ledger():
    out = io.StringIO()
    started = time.monotonic()
    call_command("seed_demo", stdout=out)
    elapsed = time.monotonic() - started
    assert "orders:" in out.getvalue()
    assert elapsed < 60, out.getvalue()
    assert Order.objects.count() > 1000
    assert set(Order.objects.values_list("channel", flat=True)) >= {"web", "app", "store"}
    pickup_states = set(
        Fulfilment.objects.filter(method__in=["click_and_collect", "curbside"]).values_list(
            "status", flat=True
        )
    )
    assert pickup_states >= {"allocated", "ready_for_pickup", "collected", "expired", "cancelled"}
    assert Fulfilment.objects.filter(arrived_at__isnull=False, collected_at__isnull=True).exists()
    assert Return.objects.filter(status="refunded").count() >= 10
    spring = DiscountCode.objects.get(code="SPRING10")
    assert spring.times_redeemed == Redemption.objects.filter(code=spring).count() > 0
    assert_ledger_matches()

    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert "orders: orders already there, skipped" in again.getvalue()
