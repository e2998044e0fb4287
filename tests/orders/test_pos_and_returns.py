"""Till sales and returns anywhere."""

import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import LoyaltyEntry
from inventory.models import Location, Reservation, StockDiscrepancy, StockLevel
from omni.auth import Actor
from omni.errors import DomainError
from omni.models import Role, Scope
from orders.models import Fulfilment, Order, Refund, Return, ReturnLine
from orders.services.checkout import (
    CheckoutRequest,
    Delivery,
    LineRequest,
    PaymentRequest,
    place_order,
)
from orders.services.credit import store_credit_account
from orders.services.fulfilment import collect_pickup, mark_ready_for_pickup
from orders.services.pos import PosLine, PosSaleRequest, record_pos_sale
from orders.services.returns import (
    ReturnLineRequest,
    find_orders_for_return,
    inspect_return,
    refund_return,
    start_return,
)
from tests.factories import LocationFactory, make_staff, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches

pytestmark = pytest.mark.django_db


@pytest.fixture
def lisbon():
    return LocationFactory(
        code="lisbon-chiado", offers_click_and_collect=True, accepts_returns=True
    )


@pytest.fixture
def porto():
    return LocationFactory(code="porto-baixa", accepts_returns=True)


@pytest.fixture
def register(lisbon):
    token, _ = make_token([Scope.SALES_WRITE], locations=[lisbon], name="Lisbon till 1")
    return Actor(token=token)


@pytest.fixture
def sneaker():
    return SkuFactory(code="SNK-42", price=Decimal("80.00"))


def till_sale(location, sku, reference, quantity=1, **extra):
    return PosSaleRequest(
        location=location,
        client_reference=reference,
        lines=[PosLine(sku.code, quantity)],
        payments=[("card", Decimal(str(sku.price)) * quantity, "term-1")],
        **extra,
    )


def on_hand(location, sku) -> int:
    return StockLevel.objects.get(location=location, sku=sku).on_hand


def test_a_till_sale_is_a_completed_order_and_stock_leaves_the_store(lisbon, register, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=3)
    order, replayed = record_pos_sale(request=till_sale(lisbon, sneaker, "T-1", 2), actor=register)
    assert not replayed
    assert (order.status, order.channel, order.total) == ("completed", "store", Decimal("160.00"))
    assert order.fulfilments.get().status == Fulfilment.Status.COLLECTED
    assert on_hand(lisbon, sneaker) == 1
    assert_ledger_matches()


def test_posting_the_same_sale_again_records_it_once(lisbon, register, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=3)
    first, _ = record_pos_sale(request=till_sale(lisbon, sneaker, "T-1"), actor=register)
    again, replayed = record_pos_sale(request=till_sale(lisbon, sneaker, "T-1"), actor=register)
    assert replayed
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert on_hand(lisbon, sneaker) == 2


def test_a_sale_answers_with_the_order_exactly_as_it_is_read_back(lisbon, register, sneaker):
    from orders.api.serializers import OrderOut
    from orders.api.views import order_detail_queryset, render_order

    sock = SkuFactory(code="SCK-1", price=Decimal("6.50"))
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=3)
    request = PosSaleRequest(
        location=lisbon,
        client_reference="T-READ",
        lines=[PosLine(sneaker.code, 1), PosLine(sock.code, 2, discount=Decimal("1.00"))],
        payments=[("card", Decimal("80.00"), "term-1"), ("cash", Decimal("12.00"), "")],
    )
    order, _ = record_pos_sale(request=request, actor=register)

    answered = render_order(order)

    assert answered == OrderOut(order_detail_queryset().get(pk=order.pk)).data
    assert [line["quantity"] for line in answered["lines"]] == [1, 2]
    assert [payment["payment_method"] for payment in answered["payments"]] == ["card", "cash"]
    assert answered["total"] == "92.00"


def test_a_category_discount_code_at_the_till_takes_off_only_that_category(
    lisbon, register, sneaker
):
    from inventory.models import Category
    from tests.inventory.factories import ProductFactory
    from tests.orders.factories import DiscountCodeFactory, PromotionFactory

    socks = Category.objects.create(name="Socks", slug="socks")
    sock = SkuFactory(code="SCK-2", price=Decimal("10.00"), product=ProductFactory(category=socks))
    promotion = PromotionFactory()
    promotion.eligible_categories.add(socks)
    DiscountCodeFactory(code="SOCKS10", promotion=promotion)
    request = PosSaleRequest(
        location=lisbon,
        client_reference="T-CODE",
        lines=[PosLine(sneaker.code, 1), PosLine(sock.code, 3)],
        payments=[("card", Decimal("107.00"), "term-1")],
        discount_code="socks10",
    )

    order, _ = record_pos_sale(request=request, actor=register)

    assert (order.discount_total, order.total) == (Decimal("3.00"), Decimal("107.00"))
    discounts = {line.sku.code: line.discount for line in order.lines.select_related("sku")}
    assert discounts == {sneaker.code: Decimal("0.00"), sock.code: Decimal("3.00")}
    assert order.discount_code.code == "SOCKS10"


@pytest.fixture
def drawn_numbers(monkeypatch):
    """`drawn_numbers(*numbers)`: the order numbers the next draws give, in turn."""
    from orders.services import checkout

    def queue(*numbers: str) -> list[str]:
        pending = list(numbers)
        monkeypatch.setattr(checkout, "next_number", lambda prefix="OM": pending.pop(0))
        return pending

    return queue


def test_a_till_sale_that_draws_a_taken_number_draws_again_and_is_recorded_once(
    lisbon, register, sneaker, drawn_numbers
):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=3)
    first, _ = record_pos_sale(request=till_sale(lisbon, sneaker, "T-1"), actor=register)
    pending = drawn_numbers(first.number, "POS-2026-FRESH1")

    second, replayed = record_pos_sale(request=till_sale(lisbon, sneaker, "T-2"), actor=register)

    assert not replayed
    assert pending == []
    assert second.number == "POS-2026-FRESH1"
    assert Order.objects.count() == 2
    assert second.lines.count() == 1
    assert on_hand(lisbon, sneaker) == 1
    assert_ledger_matches()


def test_a_checkout_that_draws_a_taken_number_draws_again(lisbon, sneaker, drawn_numbers):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=2)
    basket = CheckoutRequest(
        channel="web",
        email="ana@example.com",
        lines=[LineRequest(sneaker.code, 1)],
        delivery=Delivery("click_and_collect", lisbon),
    )
    first = place_order(request=basket)
    drawn_numbers(first.number, first.number, "OM-2026-FRESH2")

    second = place_order(request=basket)

    assert second.number == "OM-2026-FRESH2"
    assert Reservation.objects.filter(owner_ref=second.number, quantity=1).count() == 1
    assert Reservation.objects.filter(owner_ref=first.number).count() == 1
    assert StockLevel.objects.get(location=lisbon, sku=sneaker).reserved == 2


def test_a_number_taken_on_every_draw_gives_up_and_writes_nothing(
    lisbon, register, sneaker, drawn_numbers
):
    from django.db import IntegrityError

    from orders.services.checkout import NUMBER_DRAWS

    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=3)
    first, _ = record_pos_sale(request=till_sale(lisbon, sneaker, "T-1"), actor=register)
    drawn_numbers(*[first.number] * NUMBER_DRAWS)

    with pytest.raises(IntegrityError):
        record_pos_sale(request=till_sale(lisbon, sneaker, "T-2"), actor=register)

    assert Order.objects.count() == 1
    assert on_hand(lisbon, sneaker) == 2
    assert_ledger_matches()


def test_the_same_transaction_id_with_other_lines_is_409(lisbon, register, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=3)
    record_pos_sale(request=till_sale(lisbon, sneaker, "T-1"), actor=register)
    with pytest.raises(DomainError) as refused:
        record_pos_sale(request=till_sale(lisbon, sneaker, "T-1", 2), actor=register)
    assert refused.value.code == "pos_sale_reference_reused"
    assert on_hand(lisbon, sneaker) == 2


def test_a_sale_beyond_recorded_stock_is_kept_and_raises_a_discrepancy(lisbon, register, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=1)
    order, _ = record_pos_sale(request=till_sale(lisbon, sneaker, "T-9", 3), actor=register)
    assert order.lines.get().quantity == 3
    assert on_hand(lisbon, sneaker) == 0
    assert StockDiscrepancy.objects.get(location=lisbon).shortfall == 2
    assert_ledger_matches()


def test_a_loyalty_card_at_the_till_lands_on_the_customer(lisbon, register, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=2)
    web = place_order(
        request=CheckoutRequest(
            channel="web",
            email="ana@example.com",
            lines=[LineRequest(sneaker.code, 1)],
            delivery=Delivery("click_and_collect", lisbon),
        )
    )
    order, _ = record_pos_sale(
        request=till_sale(
            lisbon,
            sneaker,
            "T-2",
            customer_identities=[{"kind": "email", "value": "ANA@example.com"}],
        ),
        actor=register,
    )
    assert order.customer_id == web.customer_id


SALES_REPLAYED = 5000


@pytest.mark.django_db(transaction=True)
def test_offline_replays_posted_twice_in_any_order_record_each_sale_once(lisbon, register):
    """A register back online posts its 5,000 offline sales, twice, shuffled, from four
    connections at once: exactly 5,000 sales, the ledger equals on hand, and a loyalty
    member earns once per sale."""
    skus = [SkuFactory() for _ in range(5)]
    for sku in skus:
        StockLevelFactory(location=lisbon, sku=sku, on_hand=5000)
    member = [{"kind": "email", "value": "ana@example.com"}]
    sales = [
        till_sale(
            lisbon,
            skus[n % 5],
            f"OFF-{n}",
            1 + n % 3,
            customer_identities=member if n % 50 == 0 else (),
        )
        for n in range(SALES_REPLAYED)
    ]
    posts = sales + sales
    random.Random(7).shuffle(posts)
    chunks = [posts[i::4] for i in range(4)]

    def replay(chunk):
        try:
            for request in chunk:
                record_pos_sale(request=request, actor=register)
        finally:
            connection.close()

    threads = [threading.Thread(target=replay, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Order.objects.filter(channel="store").count() == SALES_REPLAYED
    sold = sum(1 + n % 3 for n in range(SALES_REPLAYED))
    assert sum(on_hand(lisbon, sku) for sku in skus) == 25000 - sold
    assert_ledger_matches()
    assert LoyaltyEntry.objects.filter(kind="earn").count() == SALES_REPLAYED // 50


@pytest.mark.django_db(transaction=True)
def test_the_web_shop_and_the_till_selling_the_last_pair_never_oversell(lisbon, register, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=1)
    barrier = threading.Barrier(2)
    outcome = {}

    def web():
        barrier.wait()
        try:
            place_order(
                request=CheckoutRequest(
                    channel="web",
                    email="rui@example.com",
                    lines=[LineRequest(sneaker.code, 1)],
                    delivery=Delivery("click_and_collect", lisbon),
                )
            )
            outcome["web"] = "reserved"
        except DomainError as refused:
            outcome["web"] = refused.code
        finally:
            connection.close()

    def till():
        barrier.wait()
        try:
            record_pos_sale(request=till_sale(lisbon, sneaker, "LAST"), actor=register)
            outcome["till"] = "sold"
        finally:
            connection.close()

    threads = [threading.Thread(target=web), threading.Thread(target=till)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcome["till"] == "sold"  # a till sale is a fact
    level = StockLevel.objects.get(location=lisbon, sku=sneaker)
    assert (level.on_hand, level.reserved) == (0, 0)
    if outcome["web"] == "reserved":
        # The web order came first; the till took the pair, so the order must be re-sourced.
        assert Reservation.objects.get(owner_type="order").needs_resourcing
    else:
        assert outcome["web"] == "insufficient_stock"
    assert_ledger_matches()


# --- Returns anywhere -------------------------------------------------------------------


@pytest.fixture
def collected_order(lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=2)
    order = place_order(
        request=CheckoutRequest(
            channel="app",
            email="ana@example.com",
            lines=[LineRequest(sneaker.code, 2)],
            delivery=Delivery("click_and_collect", lisbon),
            payments=[PaymentRequest("card", Decimal("160.00"), "psp-9", captured=True)],
        )
    )
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    collect_pickup(fulfilment=pickup, code=pickup.pickup_code)
    return order


def test_an_app_order_returned_in_porto_goes_back_on_hand_in_porto(
    collected_order, porto, lisbon, sneaker
):
    line = collected_order.lines.get()
    returned = start_return(
        order=collected_order,
        channel="store",
        location=porto,
        lines=[ReturnLineRequest(line.pk, 1, "too small")],
    )
    assert returned.status == Return.Status.RECEIVED
    inspect_return(
        return_request=returned,
        conditions={returned.lines.get().pk: ReturnLine.Condition.RESELLABLE},
    )
    assert on_hand(porto, sneaker) == 1
    assert on_hand(lisbon, sneaker) == 0
    refund_return(return_request=returned, method="original_payment")
    refund = Refund.objects.get()
    assert (refund.amount, refund.payment.external_reference) == (Decimal("80.00"), "psp-9")
    assert_ledger_matches()


def test_a_damaged_return_goes_into_damaged_stock(collected_order, porto, sneaker):
    returned = start_return(
        order=collected_order,
        channel="store",
        location=porto,
        lines=[ReturnLineRequest(collected_order.lines.get().pk, 1)],
    )
    inspect_return(
        return_request=returned, conditions={returned.lines.get().pk: ReturnLine.Condition.DAMAGED}
    )
    level = StockLevel.objects.get(location=porto, sku=sneaker)
    assert (level.on_hand, level.damaged) == (0, 1)
    assert_ledger_matches()


def test_never_more_than_bought_across_returns(collected_order, porto):
    line = collected_order.lines.get()
    start_return(
        order=collected_order,
        channel="store",
        location=porto,
        lines=[ReturnLineRequest(line.pk, 2)],
    )
    with pytest.raises(DomainError) as refused:
        start_return(
            order=collected_order,
            channel="store",
            location=porto,
            lines=[ReturnLineRequest(line.pk, 1)],
            override_reason="please",
        )
    assert refused.value.code == "return_not_allowed"
    assert Return.objects.count() == 1


def test_a_line_from_another_order_is_refused(collected_order, porto, sneaker):
    other = SkuFactory()
    with pytest.raises(DomainError) as refused:
        start_return(
            order=collected_order,
            channel="store",
            location=porto,
            lines=[ReturnLineRequest(999999, 1)],
        )
    assert refused.value.code == "line_not_in_order"
    assert not Return.objects.exists()
    assert other


def test_outside_the_window_only_a_manager_may_override(collected_order, porto):
    Fulfilment.objects.filter(order=collected_order).update(
        collected_at=timezone.now() - timedelta(days=45)
    )
    line = collected_order.lines.get()
    request = [ReturnLineRequest(line.pk, 1)]
    with pytest.raises(DomainError) as refused:
        start_return(order=collected_order, channel="store", location=porto, lines=request)
    assert refused.value.code == "return_not_allowed"
    ana = make_staff("ana", Role.STORE_ASSOCIATE, [porto])
    with pytest.raises(DomainError) as refused:
        start_return(
            order=collected_order,
            channel="store",
            location=porto,
            lines=request,
            override_reason="loyal customer",
            actor=Actor(user=ana),
        )
    assert refused.value.code == "override_not_permitted"
    rui = make_staff("rui", Role.STORE_MANAGER, [porto])
    accepted = start_return(
        order=collected_order,
        channel="store",
        location=porto,
        lines=request,
        override_reason="loyal customer",
        actor=Actor(user=rui),
    )
    assert accepted.override_by == rui
    assert Return.objects.count() == 1


def test_a_refund_to_store_credit_is_paid_once(collected_order, porto):
    returned = start_return(
        order=collected_order,
        channel="store",
        location=porto,
        lines=[ReturnLineRequest(collected_order.lines.get().pk, 2)],
    )
    inspect_return(
        return_request=returned,
        conditions={returned.lines.get().pk: ReturnLine.Condition.RESELLABLE},
    )
    refund_return(return_request=returned, method="store_credit")
    with pytest.raises(DomainError):
        refund_return(return_request=returned, method="store_credit")
    account = store_credit_account(customer=collected_order.customer, currency="EUR")
    assert account.balance == Decimal("160.00")


def test_a_store_that_takes_no_returns_is_refused(collected_order):
    outlet = LocationFactory(code="outlet", accepts_returns=False, kind=Location.Kind.STORE)
    with pytest.raises(DomainError) as refused:
        start_return(
            order=collected_order,
            channel="store",
            location=outlet,
            lines=[ReturnLineRequest(collected_order.lines.get().pk, 1)],
        )
    assert refused.value.code == "location_does_not_accept_returns"


def test_the_returns_desk_finds_an_order_by_number_or_email(collected_order):
    assert find_orders_for_return(query=collected_order.number) == [collected_order]
    assert find_orders_for_return(query="ANA@example.com") == [collected_order]
    assert find_orders_for_return(query="nobody@example.com") == []


def test_an_exchange_swaps_the_size_in_one_step(collected_order, porto, lisbon, sneaker):
    from orders.services.checkout import CheckoutRequest as Request

    bigger = SkuFactory(code="SNK-43", price=Decimal("80.00"))
    StockLevelFactory(location=porto, sku=bigger, on_hand=1)
    porto.offers_click_and_collect = True
    porto.save()
    returned = start_return(
        order=collected_order,
        channel="store",
        location=porto,
        lines=[ReturnLineRequest(collected_order.lines.get().pk, 1)],
    )
    inspect_return(
        return_request=returned,
        conditions={returned.lines.get().pk: ReturnLine.Condition.RESELLABLE},
    )
    refund_return(
        return_request=returned,
        method="exchange",
        exchange=Request(
            channel="store",
            lines=[LineRequest(bigger.code, 1)],
            delivery=Delivery("click_and_collect", porto),
            placing_location=porto,
        ),
    )
    returned.refresh_from_db()
    new_order = returned.exchange_order
    assert new_order.customer_id == collected_order.customer_id
    assert new_order.payments.get().method == "store_credit"
    account = store_credit_account(customer=collected_order.customer, currency="EUR")
    assert account.balance == Decimal("0.00")
    assert_ledger_matches()


def test_an_exchange_that_costs_more_than_the_refund_is_refused(collected_order, porto):
    from orders.services.checkout import CheckoutRequest as Request

    dearer = SkuFactory(code="BOOT-1", price=Decimal("200.00"))
    StockLevelFactory(location=porto, sku=dearer, on_hand=1)
    porto.offers_click_and_collect = True
    porto.save()
    returned = start_return(
        order=collected_order,
        channel="store",
        location=porto,
        lines=[ReturnLineRequest(collected_order.lines.get().pk, 1)],
    )
    inspect_return(
        return_request=returned,
        conditions={returned.lines.get().pk: ReturnLine.Condition.RESELLABLE},
    )
    with pytest.raises(DomainError) as refused:
        refund_return(
            return_request=returned,
            method="exchange",
            exchange=Request(
                channel="store",
                lines=[LineRequest(dearer.code, 1)],
                delivery=Delivery("click_and_collect", porto),
            ),
        )
    assert refused.value.code == "exchange_costs_more"
    returned.refresh_from_db()
    assert returned.status == Return.Status.INSPECTED
    assert Order.objects.count() == 1
