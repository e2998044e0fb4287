"""Linked rows written in one statement: keys set and linked, values stored as the ORM
stores them, and nothing written when one row is refused."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omni.rows import insert_linked, insert_unless_taken, select_rows
from orders.models import Fulfilment, Order, OrderEvent, OrderLine, Payment
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def sale_rows(number="POS-2026-ROWS01"):
    store = LocationFactory(code="lisbon-chiado")
    shoe, sock = SkuFactory(price=Decimal("80.00")), SkuFactory(price=Decimal("6.50"))
    order = Order(
        number=number,
        channel="store",
        location=store,
        status="completed",
        placed_at=timezone.now(),
    )
    fulfilment = Fulfilment(method="in_store", location=store, status="collected")
    lines = [
        OrderLine(sku=sku, quantity=quantity, unit_price=sku.price, total=sku.price * quantity)
        for sku, quantity in ((shoe, 1), (sock, 3))
    ]
    payment = Payment(method="card", amount=Decimal("99.50"), currency="EUR", captured=True)
    event = OrderEvent(kind="pos.sale", to_status="completed", data={"till": 4, "why": "é"})
    rows = [
        (order, {}),
        (fulfilment, {"order": order}),
        *[(line, {"order": order, "fulfilment": fulfilment}) for line in lines],
        (payment, {"order": order}),
        (event, {"order": order}),
    ]
    return rows, order, fulfilment, lines


def test_linked_rows_are_written_in_one_statement_with_their_keys():
    rows, order, fulfilment, lines = sale_rows()

    with CaptureQueriesContext(connection) as captured:
        insert_linked(rows)

    assert len(captured) == 1
    assert all(obj.pk is not None and not obj._state.adding for obj, _ in rows)
    stored = Order.objects.get(number="POS-2026-ROWS01")
    assert stored.pk == order.pk
    assert list(stored.fulfilments.values_list("pk", flat=True)) == [fulfilment.pk]
    assert sorted(stored.lines.values_list("quantity", "fulfilment_id")) == [
        (1, fulfilment.pk),
        (3, fulfilment.pk),
    ]
    assert [line.pk for line in lines] == sorted(line.pk for line in lines)
    # the linked objects stay cached: reading them asks nothing more
    with CaptureQueriesContext(connection) as after:
        assert lines[0].order is order
        assert lines[1].fulfilment is fulfilment
    assert len(after) == 0


def test_values_are_stored_as_the_orm_stores_them():
    rows, order, _, _ = sale_rows()
    insert_linked(rows)

    payment = Payment.objects.get(order=order)
    event = OrderEvent.objects.get(order=order)
    stored = Order.objects.get(pk=order.pk)
    assert payment.amount == Decimal("99.50")
    assert event.data == {"till": 4, "why": "é"}
    assert event.created_at == rows[-1][0].created_at is not None
    assert stored.public_id == order.public_id


def test_a_refused_row_writes_none_of_them():
    taken = OrderFactory(number="POS-2026-TAKEN1")
    rows, *_ = sale_rows(number=taken.number)

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_linked(rows)

    assert Order.objects.count() == 1
    assert not Fulfilment.objects.exists()
    assert not OrderLine.objects.exists()


def test_selected_rows_are_model_instances_read_as_the_orm_reads_them():
    from inventory.models import Sku

    boot = SkuFactory(code="BOOT-42", price=Decimal("120.50"), attributes={"size": "42"})
    SkuFactory(code="BOOT-43")

    with CaptureQueriesContext(connection) as captured:
        (found,) = select_rows(Sku, "code = ANY(%s)", [["BOOT-42", "NOPE"]])

    assert len(captured) == 1
    assert (found.pk, found.price, found.attributes) == (boot.pk, Decimal("120.50"), {"size": "42"})
    assert found.product_id == boot.product_id
    assert not found._state.adding
    assert found == Sku.objects.get(code="BOOT-42")
    assert select_rows(Sku, "code = ANY(%s)", [[]]) == []


def test_a_row_whose_unique_values_are_taken_is_not_written():
    from inventory.models import PosStockSale

    store = LocationFactory(code="porto-baixa")
    first = PosStockSale(location=store, reference="T-9", lines=[{"sku": "A", "quantity": 1}])
    again = PosStockSale(location=store, reference="T-9", lines=[{"sku": "B", "quantity": 2}])

    assert insert_unless_taken(first, "location_id", "reference")
    assert not insert_unless_taken(again, "location_id", "reference")

    assert again.pk is None
    stored = PosStockSale.objects.get()
    assert (stored.pk, stored.lines) == (first.pk, [{"sku": "A", "quantity": 1}])


def _prepared_statements_reading(text: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{text}%"]
        )
        return cursor.fetchone()[0]


def test_a_hot_statement_is_prepared_on_the_server_after_a_few_runs_and_answers_alike():
    from inventory.models import Sku

    boot = SkuFactory(code="BOOT-44")
    where = "code = ANY(%s) AND is_active"  # a statement no other test runs
    runs = connection.connection.prepare_threshold + 1

    answers = [select_rows(Sku, where, [["BOOT-44"]]) for _ in range(runs)]

    assert _prepared_statements_reading("code = ANY($1) AND is_active") == 1
    assert all([found.pk for found in answer] == [boot.pk] for answer in answers)


def test_statements_the_orm_sends_are_never_prepared():
    from inventory.models import Sku

    SkuFactory(code="BOOT-45")
    for _ in range(connection.connection.prepare_threshold + 1):
        assert Sku.objects.filter(code="BOOT-45").exists()

    assert _prepared_statements_reading('"inventory_sku"."code" = ') == 0
