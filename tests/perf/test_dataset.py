"""The bench dataset obeys the schema it is written into: a tiny one is built in the test
database with the same statements as the full one, so a model change that the generator
does not know about fails here rather than an hour into `make bench`."""

import pytest
from django.db import connection

from bench import dataset
from customers.models import Customer, Identity
from inventory.models import Location, Sku, StockLevel, StockMovement
from orders.models import Order, OrderLine, Payment
from tests.inventory.ledger import assert_ledger_matches

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny():
    counts = dataset.counts(0.0004)
    with connection.cursor() as cursor:
        # The build runs in autocommit; inside the test's transaction the deferred
        # foreign-key checks would otherwise still be pending when indexes are rebuilt.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        dataset.fill_catalogue(cursor, counts)
        dataset.fill_stock(cursor, counts)
        dataset.fill_customers(cursor, counts)
        dataset.fill_orders(cursor, counts)
    return counts


def test_a_tiny_dataset_has_the_counts_it_announces(tiny):
    assert Location.objects.count() == 53
    assert Location.objects.filter(kind="warehouse").count() == 3
    assert Sku.objects.count() == tiny["skus"] == 8
    assert StockLevel.objects.count() == tiny["levels"] == 53 * 8
    assert StockMovement.objects.count() == tiny["movements"]
    assert Customer.objects.count() == tiny["customers"] == 400
    assert Identity.objects.filter(kind="email").count() == 400
    assert Order.objects.count() == Payment.objects.count() == tiny["orders"] == 2000
    assert OrderLine.objects.count() == sum(1 + number % 3 for number in range(1, 2001))


def test_on_hand_is_the_ledger_sum_and_each_balance_the_running_sum(tiny):
    assert_ledger_matches()
    level = StockLevel.objects.filter(location__kind="warehouse").first()
    balance = 0
    for movement in StockMovement.objects.filter(stock_level=level).order_by("created_at", "id"):
        balance += movement.delta
        assert movement.balance_after == balance >= 0
    assert balance == level.on_hand > 0


def test_order_totals_are_the_sums_of_their_lines_and_payments(tiny):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM orders_order AS o
             WHERE o.total <> (SELECT sum(total) FROM orders_orderline WHERE order_id = o.id)
                OR o.total <> (SELECT sum(amount) FROM orders_payment WHERE order_id = o.id)
            """
        )
        assert cursor.fetchone()[0] == 0


def test_the_dropped_indexes_are_all_back_after_filling(tiny):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'inventory_stockmovement'"
        )
        assert cursor.fetchone()[0] >= 8
