"""Reservations: hold, refuse, basket all-or-nothing, release, commit, expire."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services.ledger import InsufficientStock
from inventory.services.reservations import (
    BasketLine,
    InvalidExpiry,
    ReservationExpired,
    ReservationNotActive,
    commit_owner_reservations,
    commit_reservation,
    expire_reservations,
    release_owner_reservations,
    release_reservation,
    reserve_basket,
    reserve_stock,
)
from inventory.services.stock import InvalidQuantity
from inventory.tasks import expire_reservations as expire_task
from omni.services import _SCHEDULES
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches


@pytest.fixture
def boots(db):
    return SkuFactory(code="BOOT-38")


@pytest.fixture
def scarf(db):
    return SkuFactory(code="SCARF-RED")


def level_of(location, sku) -> StockLevel:
    return StockLevel.objects.get(location=location, sku=sku)


def reserve(location, sku, quantity, ref="cart-ana", **kwargs):
    return reserve_stock(
        location=location, sku=sku, quantity=quantity, owner_type="cart", owner_ref=ref, **kwargs
    )


@pytest.mark.django_db
def test_a_reservation_holds_units_out_of_available(lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3)
    reservation = reserve(lisbon, boots, 2)
    level = level_of(lisbon, boots)
    assert (level.on_hand, level.reserved, level.available) == (3, 2, 1)
    assert (reservation.status, reservation.quantity, reservation.owner_ref) == (
        "active",
        2,
        "cart-ana",
    )
    assert reservation.expires_at > timezone.now()
    movement = StockMovement.objects.get(kind="reservation")
    assert (movement.delta, movement.reserved_delta) == (0, 2)
    assert_ledger_matches()


@pytest.mark.django_db
def test_reserving_more_than_available_is_refused_and_changes_nothing(lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3, safety_stock=1)
    with pytest.raises(InsufficientStock) as refused:
        reserve(lisbon, boots, 3)
    assert refused.value.status_code == 409
    assert refused.value.details["lines"][0]["available"] == 2
    assert level_of(lisbon, boots).reserved == 0
    assert not Reservation.objects.exists()
    assert not StockMovement.objects.filter(kind="reservation").exists()


@pytest.mark.django_db
def test_reserving_a_sku_never_stocked_at_that_store_is_refused(lisbon, porto, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3)
    with pytest.raises(InsufficientStock) as refused:
        reserve(porto, boots, 1)
    assert refused.value.details["lines"][0]["on_hand"] == 0
    assert not Reservation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1])
def test_reserving_zero_or_negative_units_is_refused(lisbon, boots, quantity):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3)
    with pytest.raises(InvalidQuantity):
        reserve(lisbon, boots, quantity)
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_a_reservation_must_expire_in_the_future(lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3)
    with pytest.raises(InvalidExpiry):
        reserve(lisbon, boots, 1, expires_at=timezone.now() - timedelta(seconds=1))
    assert level_of(lisbon, boots).reserved == 0


@pytest.mark.django_db
def test_a_basket_is_reserved_whole_or_not_at_all(lisbon, porto, boots, scarf):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=2)
    StockLevelFactory(location=lisbon, sku=scarf, on_hand=1)
    StockLevelFactory(location=porto, sku=scarf, on_hand=5)
    with pytest.raises(InsufficientStock) as refused:
        reserve_basket(
            lines=[BasketLine(lisbon, boots, 1), BasketLine(lisbon, scarf, 2)],
            owner_type="order",
            owner_ref="O-1",
        )
    lines = {line["sku"]: line for line in refused.value.details["lines"]}
    assert lines["BOOT-38"]["available"] == 2
    assert lines["SCARF-RED"] == {**lines["SCARF-RED"], "requested": 2, "available": 1}
    assert refused.value.details["short"] == ["SCARF-RED"]
    assert not Reservation.objects.exists()
    assert level_of(lisbon, boots).reserved == 0

    made = reserve_basket(
        lines=[BasketLine(porto, scarf, 2), BasketLine(lisbon, boots, 1)],
        owner_type="order",
        owner_ref="O-1",
    )
    assert len(made) == 2
    assert len({reservation.basket for reservation in made}) == 1
    assert level_of(porto, scarf).reserved == 2
    assert level_of(lisbon, boots).reserved == 1
    assert_ledger_matches()


@pytest.mark.django_db
def test_two_basket_lines_for_the_same_place_must_fit_together(lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3)
    with pytest.raises(InsufficientStock):
        reserve_basket(
            lines=[BasketLine(lisbon, boots, 2), BasketLine(lisbon, boots, 2)],
            owner_type="cart",
            owner_ref="c",
        )
    made = reserve_basket(
        lines=[BasketLine(lisbon, boots, 2), BasketLine(lisbon, boots, 1)],
        owner_type="cart",
        owner_ref="c",
    )
    assert [reservation.quantity for reservation in made] == [3]
    assert_ledger_matches()


@pytest.mark.django_db
def test_releasing_gives_the_units_back_once(lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3)
    reservation = reserve(lisbon, boots, 2)
    release_reservation(reservation=reservation, reason="Cart abandoned")
    assert level_of(lisbon, boots).reserved == 0
    assert Reservation.objects.get().status == "released"
    with pytest.raises(ReservationNotActive):
        release_reservation(reservation=reservation)
    assert level_of(lisbon, boots).reserved == 0
    assert_ledger_matches()


@pytest.mark.django_db
def test_committing_turns_held_units_into_a_sale(lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3)
    reservation = reserve(lisbon, boots, 2)
    commit_reservation(reservation=reservation, reference_type="order", reference_id="O-42")
    level = level_of(lisbon, boots)
    assert (level.on_hand, level.reserved) == (1, 0)
    sale = StockMovement.objects.get(kind="sale")
    assert (sale.delta, sale.reserved_delta, sale.reference_id) == (-2, -2, "O-42")
    with pytest.raises(ReservationNotActive):
        commit_reservation(reservation=reservation)
    assert level_of(lisbon, boots).on_hand == 1
    assert_ledger_matches()


@pytest.mark.django_db
def test_a_lapsed_reservation_cannot_be_committed_even_before_the_sweep(lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3)
    reservation = reserve(lisbon, boots, 1)
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ReservationExpired):
        commit_reservation(reservation=reservation)
    assert level_of(lisbon, boots).on_hand == 3
    assert_ledger_matches()


@pytest.mark.django_db
def test_expiry_releases_only_lapsed_reservations_and_is_safe_to_run_twice(lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=5)
    lapsed = reserve(lisbon, boots, 2, ref="cart-old")
    fresh = reserve(lisbon, boots, 1, ref="cart-new")
    Reservation.objects.filter(pk=lapsed.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert expire_reservations() == 1
    assert expire_reservations() == 0
    lapsed.refresh_from_db()
    fresh.refresh_from_db()
    assert (lapsed.status, fresh.status) == ("expired", "active")
    assert level_of(lisbon, boots).reserved == 1
    assert StockMovement.objects.filter(kind="release").count() == 1
    assert_ledger_matches()


@pytest.mark.django_db
def test_the_expiry_sweep_is_scheduled_every_minute():
    from django_celery_beat.models import PeriodicTask

    from omni.services import ensure_schedules

    assert _SCHEDULES["Expire lapsed stock reservations"]["every_seconds"] == 60
    ensure_schedules()
    task = PeriodicTask.objects.get(name="Expire lapsed stock reservations")
    assert (task.task, task.interval.every, task.interval.period, task.enabled) == (
        "inventory.expire_reservations",
        60,
        "seconds",
        True,
    )


@pytest.mark.celery_worker
def test_a_real_worker_expires_lapsed_reservations(celery_worker_thread, lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=4)
    reservation = reserve(lisbon, boots, 3)
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expire_task.delay()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        reservation.refresh_from_db()
        if reservation.status != "active":
            break
        time.sleep(0.1)
    assert reservation.status == "expired"
    assert level_of(lisbon, boots).reserved == 0
    assert_ledger_matches()


@pytest.mark.django_db
def test_an_order_commits_all_its_reservations_or_none(lisbon, porto, boots, scarf):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=3)
    StockLevelFactory(location=porto, sku=scarf, on_hand=3)
    reserve_basket(
        lines=[BasketLine(lisbon, boots, 1), BasketLine(porto, scarf, 2)],
        owner_type="order",
        owner_ref="O-5",
    )
    lapsed = Reservation.objects.get(sku=scarf)
    Reservation.objects.filter(pk=lapsed.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ReservationExpired):
        commit_owner_reservations(owner_type="order", owner_ref="O-5")
    assert not Reservation.objects.filter(status="committed").exists()
    assert level_of(lisbon, boots).on_hand == 3

    Reservation.objects.filter(pk=lapsed.pk).update(
        expires_at=timezone.now() + timedelta(minutes=5)
    )
    committed = commit_owner_reservations(owner_type="order", owner_ref="O-5")
    assert {r.status for r in committed} == {"committed"}
    assert (level_of(lisbon, boots).on_hand, level_of(porto, scarf).on_hand) == (2, 1)
    assert_ledger_matches()


@pytest.mark.django_db
def test_cancelling_an_order_releases_what_it_still_holds_and_is_safe_twice(lisbon, boots):
    StockLevelFactory(location=lisbon, sku=boots, on_hand=5)
    reserve(lisbon, boots, 2, ref="O-6")
    reserve(lisbon, boots, 1, ref="O-6")
    reserve(lisbon, boots, 1, ref="O-7")
    released = release_owner_reservations(owner_type="cart", owner_ref="O-6", reason="Cancelled")
    assert len(released) == 2
    assert release_owner_reservations(owner_type="cart", owner_ref="O-6") == []
    assert level_of(lisbon, boots).reserved == 1
    assert_ledger_matches()
