"""Whatever the sequence of stock operations, the stock pool stays true.

A Hypothesis state machine over three locations (two stores and a warehouse) and three
SKUs applies any sequence of receipts, adjustments, reservations and their releases and
commits, web checkouts, till sales, returns and transfers (shipped, then received),
through the real services. After every step: on hand equals the sum of the ledger for
every (location, SKU), nothing is negative, never more is reserved than is on hand. A
step a rule refuses (a domain error) changes nothing at all.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inventory.models import Location, Reservation, StockLevel, StockMovement, Transfer
from inventory.services import transfers
from inventory.services.reservations import (
    commit_reservation,
    release_reservation,
    reserve_stock,
)
from inventory.services.stock import adjust_stock, receive_stock
from omni.auth import Actor
from omni.errors import DomainError
from omni.models import Scope
from orders.models import Order, ReturnLine
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest, place_order
from orders.services.pos import PosLine, PosSaleRequest, record_pos_sale
from orders.services.returns import ReturnLineRequest, inspect_return, start_return
from tests.factories import LocationFactory, make_token
from tests.figures import report
from tests.inventory.factories import SkuFactory
from tests.inventory.ledger import assert_ledger_matches

EXAMPLES = 15
STEPS = 20
RUNS = {"examples": 0, "steps": 0, "refused": 0}

places = st.integers(0, 2)
skus = st.integers(0, 2)
quantities = st.integers(1, 6)


def _snapshot() -> tuple:
    """Everything a stock operation may write."""
    return (
        sorted(StockLevel.objects.values_list("pk", "on_hand", "reserved", "damaged")),
        StockMovement.objects.count(),
        sorted(Reservation.objects.values_list("pk", "status", "quantity")),
        sorted(Transfer.objects.values_list("pk", "status")),
        Order.objects.count(),
    )


class StockPool(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        RUNS["examples"] += 1
        self.counter = 0

    @initialize()
    def open_the_shops(self):
        self.locations = [
            LocationFactory(offers_click_and_collect=True, accepts_returns=True),
            LocationFactory(offers_click_and_collect=True, accepts_returns=True),
            LocationFactory(kind=Location.Kind.WAREHOUSE),
        ]
        self.skus = [SkuFactory(price=Decimal("20.00")) for _ in range(3)]
        token, _ = make_token([Scope.SALES_WRITE], locations=self.locations[:2], name="Till")
        self.till = Actor(token=token)
        self.reservations: list[Reservation] = []
        self.till_sales: list[Order] = []
        self.requested: list[Transfer] = []
        self.in_transit: list[Transfer] = []

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _apply(self, operation):
        """Run one operation; if a rule refuses it, nothing may have changed."""
        RUNS["steps"] += 1
        self.counter += 1
        before = _snapshot()
        try:
            return operation()
        except DomainError:
            RUNS["refused"] += 1
            assert _snapshot() == before, "a refused operation changed something"
            return None

    @rule(place=places, sku=skus, quantity=quantities)
    def receive(self, place, sku, quantity):
        self._apply(
            lambda: receive_stock(
                location=self.locations[place], sku=self.skus[sku], quantity=quantity
            )
        )

    @rule(place=places, sku=skus, delta=st.integers(-8, 8).filter(bool))
    def adjust(self, place, sku, delta):
        self._apply(
            lambda: adjust_stock(
                location=self.locations[place], sku=self.skus[sku], delta=delta, reason="count"
            )
        )

    @rule(place=places, sku=skus, quantity=quantities)
    def reserve(self, place, sku, quantity):
        held = self._apply(
            lambda: reserve_stock(
                location=self.locations[place],
                sku=self.skus[sku],
                quantity=quantity,
                owner_type="order",
                owner_ref=f"R-{self.counter}",
            )
        )
        if held is not None:
            self.reservations.append(held)

    @precondition(lambda self: self.reservations)
    @rule(pick=st.integers(0, 50), commit=st.booleans())
    def release_or_commit(self, pick, commit):
        """Either end of a reservation; one already ended is refused (409)."""
        reservation = self.reservations[pick % len(self.reservations)]
        reservation.refresh_from_db()
        if commit:
            self._apply(lambda: commit_reservation(reservation=reservation))
        else:
            self._apply(lambda: release_reservation(reservation=reservation))

    @rule(place=st.integers(0, 1), sku=skus, quantity=st.integers(1, 3))
    def web_checkout(self, place, sku, quantity):
        self._apply(
            lambda: place_order(
                request=CheckoutRequest(
                    channel="web",
                    email=f"shopper{self.counter}@example.com",
                    lines=[LineRequest(self.skus[sku].code, quantity)],
                    delivery=Delivery("click_and_collect", self.locations[place]),
                )
            )
        )

    @rule(place=st.integers(0, 1), sku=skus, quantity=st.integers(1, 3))
    def till_sale(self, place, sku, quantity):
        result = self._apply(
            lambda: record_pos_sale(
                request=PosSaleRequest(
                    location=self.locations[place],
                    client_reference=f"T-{self.counter}",
                    lines=[PosLine(self.skus[sku].code, quantity)],
                    payments=[("card", Decimal("20.00") * quantity, "terminal")],
                ),
                actor=self.till,
            )
        )
        if result is not None:
            self.till_sales.append(result[0])

    @precondition(lambda self: self.till_sales)
    @rule(pick=st.integers(0, 50), place=st.integers(0, 1), resellable=st.booleans())
    def counter_return(self, pick, place, resellable):
        """One unit of a till sale comes back at either store, resellable or not."""
        order = self.till_sales[pick % len(self.till_sales)]
        line = order.lines.first()
        condition = ReturnLine.Condition.RESELLABLE if resellable else ReturnLine.Condition.DAMAGED

        def give_back():
            returned = start_return(
                order=order,
                channel="store",
                location=self.locations[place],
                lines=[ReturnLineRequest(line.pk, 1, "changed mind")],
            )
            return inspect_return(
                return_request=returned,
                conditions={returned.lines.get().pk: condition},
            )

        self._apply(give_back)

    @rule(source=places, destination=places, sku=skus, quantity=quantities)
    def request_transfer(self, source, destination, sku, quantity):
        requested = self._apply(
            lambda: transfers.create_transfer(
                source=self.locations[source],
                destination=self.locations[destination],
                lines=[transfers.LineRequest(self.skus[sku], quantity)],
            )
        )
        if requested is not None:
            self.requested.append(requested)

    @precondition(lambda self: self.requested)
    @rule(pick=st.integers(0, 50))
    def ship_transfer(self, pick):
        """Units leave the source, or the source no longer has them (409)."""
        transfer = self.requested[pick % len(self.requested)]
        transfer.refresh_from_db()
        shipped = self._apply(lambda: transfers.ship_transfer(transfer=transfer))
        if shipped is not None:
            self.requested.remove(transfer)
            self.in_transit.append(shipped)

    @precondition(lambda self: self.in_transit)
    @rule(pick=st.integers(0, 50))
    def receive_transfer(self, pick):
        transfer = self.in_transit.pop(pick % len(self.in_transit))
        transfer.refresh_from_db()
        self._apply(lambda: transfers.receive_transfer(transfer=transfer))

    @invariant()
    def stock_agrees_with_its_ledger(self):
        if hasattr(self, "skus"):
            assert_ledger_matches()
            assert not StockLevel.objects.filter(on_hand__lt=0).exists()


@pytest.mark.django_db
def test_any_sequence_of_stock_operations_keeps_the_ledger_and_never_goes_negative(request):
    run_state_machine_as_test(
        StockPool,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    report(
        request.config,
        f"stock machine: {RUNS['examples']} runs, {RUNS['steps']} steps, {RUNS['refused']} refused",
    )
    assert RUNS["steps"] > EXAMPLES
    assert 0 < RUNS["refused"] < RUNS["steps"]
