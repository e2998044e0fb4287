"""Under real concurrency (threads, each with its own PostgreSQL connection) stock is never
oversold, baskets never deadlock, and the ledger still explains every stock level."""

import random
import threading
import uuid
from collections import Counter

import pytest
from django.db import connection

from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services.ledger import InsufficientStock
from inventory.services.reservations import BasketLine, reserve_basket
from omni.models import Scope
from tests.conftest import bearer
from tests.factories import LocationFactory, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches

CLIENTS = 32


def run_together(target, count: int = CLIENTS) -> list:
    """Start `count` threads at the same instant; return what each returned or raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = target(index)
        except Exception as error:  # reported by the assertions
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a client hung (deadlock?)"
    return results


@pytest.mark.django_db(transaction=True)
def test_32_clients_buying_the_last_units_over_http_never_oversell():
    from rest_framework.test import APIClient

    lisbon = LocationFactory(code="lisbon-chiado")
    stock = {"HOT-1": 5, "HOT-2": 3, "HOT-3": 1}
    skus = [SkuFactory(code=code) for code in stock]
    for sku in skus:
        StockLevelFactory(location=lisbon, sku=sku, on_hand=stock[sku.code], safety_stock=0)
    _, plain = make_token([Scope.ORDERS_WRITE, Scope.STOCK_READ], name="Web shop")

    def buy(index: int) -> tuple[str, int, dict]:
        client = bearer(APIClient(), plain)
        code = skus[index % len(skus)].code
        reserved = client.post(
            "/api/v1/reservations/",
            {
                "location": "lisbon-chiado",
                "sku": code,
                "quantity": 1,
                "owner_type": "cart",
                "owner_ref": f"cart-{index}",
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"reserve-{index}",
        )
        if reserved.status_code != 201:
            return code, reserved.status_code, reserved.json()
        committed = client.post(
            f"/api/v1/reservations/{reserved.json()['id']}/commit/",
            {"reference_id": f"order-{index}"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"commit-{index}",
        )
        return code, committed.status_code, committed.json()

    results = run_together(buy)

    assert not [r for r in results if isinstance(r, Exception)], results
    sold = Counter(code for code, status_code, _ in results if status_code == 200)
    refused = [(code, body) for code, status_code, body in results if status_code == 409]
    assert sold == Counter(stock)
    assert len(refused) == CLIENTS - sum(stock.values())
    assert all(body["error"]["code"] == "insufficient_stock" for _, body in refused)
    assert all(body["error"]["details"]["lines"][0]["available"] == 0 for _, body in refused)
    for level in StockLevel.objects.all():
        assert (level.on_hand, level.reserved) == (0, 0)
    assert StockMovement.objects.filter(kind="sale").count() == sum(stock.values())
    assert_ledger_matches()


@pytest.mark.django_db(transaction=True)
def test_32_clients_reserving_baskets_in_random_line_order_never_deadlock_or_oversell():
    lisbon = LocationFactory(code="lisbon-chiado")
    porto = LocationFactory(code="porto-baixa")
    places = []
    for number in range(4):
        sku = SkuFactory(code=f"BASKET-{number}")
        for location in (lisbon, porto):
            StockLevelFactory(location=location, sku=sku, on_hand=6, safety_stock=1)
            places.append((location, sku))

    def basket(index: int) -> list[Reservation]:
        chooser = random.Random(index)
        lines = [
            BasketLine(location, sku, chooser.randint(1, 2))
            for location, sku in chooser.sample(places, chooser.randint(3, 5))
        ]
        return reserve_basket(lines=lines, owner_type="cart", owner_ref=f"cart-{index}")

    results = run_together(basket)

    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(error, InsufficientStock) for error in errors), errors
    made = [r for r in results if not isinstance(r, Exception)]
    assert made, "no basket got through"
    assert len(made) + len(errors) == CLIENTS
    for reservations in made:
        # All or nothing: every line of a basket is held, under one basket id.
        assert len({reservation.basket for reservation in reservations}) == 1
        stored = Reservation.objects.filter(basket=reservations[0].basket)
        assert stored.count() == len(reservations)
    refused_refs = {f"cart-{i}" for i, r in enumerate(results) if isinstance(r, Exception)}
    assert not Reservation.objects.filter(owner_ref__in=refused_refs).exists()
    for level in StockLevel.objects.all():
        assert level.reserved <= level.on_hand - level.safety_stock
    assert_ledger_matches()


@pytest.mark.django_db(transaction=True)
def test_pos_sales_racing_online_reservations_keep_reserved_within_on_hand():
    from inventory.services.pos import SaleLine, record_pos_sale
    from inventory.services.reservations import commit_reservation, reserve_stock

    lisbon = LocationFactory(code="lisbon-chiado")
    sku = SkuFactory(code="RACE-1")
    StockLevelFactory(location=lisbon, sku=sku, on_hand=10)

    def act(index: int):
        if index % 4 == 0:
            return record_pos_sale(
                location=lisbon, reference=f"POS-{index}", lines=[SaleLine(sku, 2)]
            )
        reservation = reserve_stock(
            location=lisbon, sku=sku, quantity=1, owner_type="order", owner_ref=str(uuid.uuid4())
        )
        if index % 2:
            return commit_reservation(reservation=reservation)
        return reservation

    results = run_together(act)

    unexpected = [
        r
        for r in results
        if isinstance(r, Exception)
        and getattr(r, "code", "")
        not in {
            "insufficient_stock",
            "reservation_not_active",
        }
    ]
    assert not unexpected, unexpected
    level = StockLevel.objects.get()
    assert 0 <= level.reserved <= level.on_hand
    assert_ledger_matches()


@pytest.mark.django_db(transaction=True)
def test_the_same_till_sale_posted_by_8_clients_at_once_is_recorded_once():
    from inventory.models import PosStockSale
    from inventory.services.pos import SaleLine, record_pos_sale

    lisbon = LocationFactory(code="lisbon-chiado")
    sku = SkuFactory(code="RACE-2")
    StockLevelFactory(location=lisbon, sku=sku, on_hand=10)

    results = run_together(
        lambda index: record_pos_sale(
            location=lisbon, reference="POS-ONCE", lines=[SaleLine(sku, 3)]
        ),
        count=8,
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.replayed for r in results) == [False] + [True] * 7
    assert len({r.sale.pk for r in results}) == 1
    assert PosStockSale.objects.count() == 1
    assert StockLevel.objects.get().on_hand == 7
    assert StockMovement.objects.filter(reference_id="POS-ONCE").count() == 1
    assert_ledger_matches()


@pytest.mark.django_db(transaction=True)
def test_32_clients_ending_the_same_reservations_end_each_exactly_once():
    from inventory.services.reservations import (
        commit_reservation,
        release_reservation,
        reserve_stock,
    )

    lisbon = LocationFactory(code="lisbon-chiado")
    sku = SkuFactory(code="TWICE-1")
    StockLevelFactory(location=lisbon, sku=sku, on_hand=10)
    held = [
        reserve_stock(location=lisbon, sku=sku, quantity=2, owner_type="order", owner_ref=f"O-{n}")
        for n in range(4)
    ]

    def end(index: int):
        reservation = held[index % len(held)]
        if index % 2:
            return commit_reservation(reservation=reservation)
        return release_reservation(reservation=reservation)

    results = run_together(end)

    ended = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(getattr(error, "code", "") == "reservation_not_active" for error in errors), errors
    assert sorted(reservation.pk for reservation in ended) == sorted(r.pk for r in held)
    level = StockLevel.objects.get()
    committed = Reservation.objects.filter(status="committed").count()
    assert level.reserved == 0
    assert level.on_hand == 10 - 2 * committed
    assert_ledger_matches()
