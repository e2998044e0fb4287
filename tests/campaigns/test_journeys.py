"""Journeys without a worker: enrolment, steps, exits, personalisation and the offer rules.

Deliveries are checked as rows (queued with their context); sending them is the worker's
job, proven in test_journey_worker.py.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.journey_models import Enrollment, Journey
from campaigns.journey_seed import ensure_journeys
from campaigns.models import Delivery, Message
from campaigns.services import journeys
from campaigns.services.sending import send_batch
from orders.models import DiscountCode
from orders.services.carts import open_cart, set_cart_line
from tests.campaigns.factories import CustomerFactory, reachable_customer
from tests.campaigns.policy import StatedPolicy
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.orders.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)


@pytest.fixture
def catalogue():
    store = LocationFactory(code="lisbon", name="Lisbon Chiado", ships_to_customers=True)
    jacket = SkuFactory(code="JKT-M", name="Rain jacket M", price=Decimal("120.00"))
    boots = SkuFactory(code="BOOT-41", name="Hiking boots 41", price=Decimal("80.00"))
    StockLevelFactory(location=store, sku=jacket, on_hand=2)
    StockLevelFactory(location=store, sku=boots, on_hand=9)
    return {"store": store, "jacket": jacket, "boots": boots}


def activate(*keys):
    journeys_ = ensure_journeys(active=False)
    Journey.objects.filter(key__in=keys).update(active=True)
    return {journey.key: journey for journey in journeys_}


def cart_of(customer, skus, idle_since=T0):
    cart = open_cart(channel="web", customer=customer)
    for sku in skus:
        set_cart_line(cart=cart, sku=sku, quantity=1)
    type(cart).objects.filter(pk=cart.pk).update(last_activity_at=idle_since)
    cart.lines.update(added_at=idle_since - timedelta(minutes=5))
    return cart


def bought(customer, sku, *, at, discount=Decimal(0), channel="store"):
    order = OrderFactory(customer=customer, placed_at=at, channel=channel, status="completed")
    OrderLineFactory(order=order, sku=sku, quantity=1, unit_price=sku.price, discount=discount)
    if discount:
        type(order).objects.filter(pk=order.pk).update(discount_total=discount)
    return order


def sent_steps(customer):
    return sorted(Delivery.objects.filter(customer=customer).values_list("step_key", flat=True))


# --- Enrolment ------------------------------------------------------------------------------


def test_enrolling_the_same_trigger_twice_enrols_once():
    journey = activate("welcome")["welcome"]
    ana = CustomerFactory()

    first, created = journeys.enrol(journey=journey, customer=ana, trigger_key="signup")
    again, created_again = journeys.enrol(journey=journey, customer=ana, trigger_key="signup")

    assert created
    assert not created_again
    assert first.pk == again.pk
    assert Enrollment.objects.filter(journey=journey, customer=ana).count() == 1


def test_an_idle_cart_is_enrolled_once_however_often_the_scan_runs(catalogue):
    activate("abandoned-cart")
    ana = reachable_customer()
    cart_of(ana, [catalogue["jacket"]])

    assert journeys.enrol_timed_triggers(now=T0 + timedelta(minutes=10)) == 0
    assert journeys.enrol_timed_triggers(now=T0 + timedelta(minutes=40)) == 1
    assert journeys.enrol_timed_triggers(now=T0 + timedelta(minutes=50)) == 0
    enrollment = Enrollment.objects.get()
    assert enrollment.trigger_key.startswith("cart:")
    assert enrollment.triggered_at == T0


def test_a_new_customer_is_enrolled_in_the_welcome_journey_after_commit(
    django_capture_on_commit_callbacks,
):
    activate("welcome")
    with django_capture_on_commit_callbacks(execute=True):
        ana = CustomerFactory()

    assert Enrollment.objects.filter(customer=ana, journey__key="welcome").count() == 1


def test_an_inactive_journey_enrols_nobody(django_capture_on_commit_callbacks):
    ensure_journeys(active=False)
    with django_capture_on_commit_callbacks(execute=True):
        CustomerFactory()

    assert not Enrollment.objects.exists()


# --- Steps ----------------------------------------------------------------------------------


def test_the_welcome_gives_a_single_use_gift_code_and_follows_up_three_days_later(
    django_capture_on_commit_callbacks,
):
    activate("welcome")
    with django_capture_on_commit_callbacks(execute=True):
        ana = reachable_customer()
    enrollment = Enrollment.objects.get(customer=ana)
    start = enrollment.reference_at

    journeys.run_journeys(now=start)
    [welcome] = Delivery.objects.filter(customer=ana)
    code = DiscountCode.objects.get(issued_to=ana)
    assert welcome.step_key == f"welcome#{enrollment.pk}"
    assert welcome.context["discount"]["code"] == code.code
    assert welcome.context["discount"]["label"] == "5.00 EUR"
    assert code.single_use
    assert code.expires_at == start + timedelta(days=30)

    journeys.run_journeys(now=start + timedelta(days=2, hours=23))
    assert Delivery.objects.filter(customer=ana).count() == 1
    journeys.run_journeys(now=start + timedelta(days=3))
    assert sent_steps(ana) == [f"follow_up#{enrollment.pk}", f"welcome#{enrollment.pk}"]
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED


def test_a_late_tick_does_not_push_the_second_message_back(catalogue):
    activate("abandoned-cart")
    ana = reachable_customer()
    cart_of(ana, [catalogue["boots"]])

    # The beat was down for three hours: the first message goes late, the second on time.
    journeys.run_journeys(now=T0 + timedelta(hours=4))
    enrollment = Enrollment.objects.get()
    assert enrollment.due_at == T0 + timedelta(hours=24)


def test_items_bought_since_they_were_put_in_the_cart_are_dropped_from_the_message(catalogue):
    activate("abandoned-cart")
    ana = reachable_customer()
    cart_of(ana, [catalogue["jacket"], catalogue["boots"]])
    bought(ana, catalogue["boots"], at=T0 + timedelta(minutes=10))

    journeys.run_journeys(now=T0 + timedelta(hours=1))

    [reminder] = Delivery.objects.filter(customer=ana)
    lines = reminder.context["cart"]["lines"]
    assert [line["sku"] for line in lines] == ["JKT-M"]
    assert lines[0]["only_left"] == 2
    assert lines[0]["stock_status"] == "low_stock"


def test_no_discount_is_offered_on_a_product_bought_at_full_price_recently(catalogue):
    activate("abandoned-cart")
    ana = reachable_customer()
    # Ana bought the jacket at full price ten days ago, then put another one in her cart.
    bought(ana, catalogue["jacket"], at=T0 - timedelta(days=10))
    cart_of(ana, [catalogue["jacket"]])

    journeys.run_journeys(now=T0 + timedelta(hours=1))
    journeys.run_journeys(now=T0 + timedelta(hours=24))

    enrollment = Enrollment.objects.get()
    assert enrollment.state == Enrollment.State.COMPLETED
    assert enrollment.history[-1]["skipped"] == "no_discountable_items"
    assert not DiscountCode.objects.filter(issued_to=ana).exists()
    assert Delivery.objects.filter(customer=ana).count() == 1


def test_the_full_price_window_is_configurable(catalogue, settings):
    settings.OMNI_FULL_PRICE_WINDOW = timedelta(days=7)
    activate("abandoned-cart")
    ana = reachable_customer()
    bought(ana, catalogue["jacket"], at=T0 - timedelta(days=10))
    cart_of(ana, [catalogue["jacket"]])

    journeys.run_journeys(now=T0 + timedelta(hours=1))
    journeys.run_journeys(now=T0 + timedelta(hours=24))

    code = DiscountCode.objects.get(issued_to=ana)
    [line] = Delivery.objects.get(step_key__startswith="code#").context["cart"]["lines"]
    assert line["discounted"] is True
    assert code.promotion.value == Decimal("10.00")


def test_a_discounted_earlier_purchase_does_not_block_the_offer(catalogue):
    activate("abandoned-cart")
    ana = reachable_customer()
    bought(ana, catalogue["jacket"], at=T0 - timedelta(days=3), discount=Decimal("12.00"))
    cart_of(ana, [catalogue["jacket"], catalogue["boots"]])

    journeys.run_journeys(now=T0 + timedelta(hours=1))
    journeys.run_journeys(now=T0 + timedelta(hours=24))

    assert DiscountCode.objects.filter(issued_to=ana).count() == 1


def test_win_back_enrols_lapsed_customers_set_based_and_exits_when_they_buy(catalogue):
    activate("win-back")
    lapsed = reachable_customer(first_name="Lia")
    recent = reachable_customer(first_name="Rita")
    bought(lapsed, catalogue["boots"], at=T0 - timedelta(days=100))
    bought(recent, catalogue["boots"], at=T0 - timedelta(days=20))
    back_again = reachable_customer(first_name="Bea")
    bought(back_again, catalogue["boots"], at=T0 - timedelta(days=120))

    assert journeys.enrol_timed_triggers(now=T0) == 2
    assert journeys.enrol_timed_triggers(now=T0) == 0
    # Bea buys in the store before the tick: the come-back offer is not sent.
    bought(back_again, catalogue["jacket"], at=T0 + timedelta(minutes=1))
    journeys.run_journeys(now=T0 + timedelta(minutes=2))

    assert Enrollment.objects.get(customer=lapsed).state == Enrollment.State.COMPLETED
    assert Delivery.objects.filter(customer=lapsed).count() == 1
    assert DiscountCode.objects.get(issued_to=lapsed).promotion.value == Decimal("15.00")
    assert not Enrollment.objects.filter(customer=recent).exists()
    assert Enrollment.objects.get(customer=back_again).state == Enrollment.State.EXITED
    assert not Delivery.objects.filter(customer=back_again).exists()


def test_a_failing_step_rolls_back_alone_and_is_tried_again_later(catalogue):
    keyed = activate("abandoned-cart", "welcome")
    Message.objects.filter(campaign=keyed["abandoned-cart"].campaign, step_key="reminder").delete()
    ana = reachable_customer()
    bea = reachable_customer(first_name="Bea")
    cart_of(ana, [catalogue["boots"]])
    journeys.enrol(journey=keyed["welcome"], customer=bea, trigger_key="signup", now=T0)

    outcome = journeys.run_journeys(now=T0 + timedelta(hours=1))

    broken = Enrollment.objects.get(customer=ana)
    assert outcome["retry"] == 1
    assert broken.state == Enrollment.State.ACTIVE
    assert broken.attempts == 1
    assert "missing_variant" in broken.last_error or "MissingVariant" in broken.last_error
    assert broken.due_at == T0 + timedelta(hours=1, minutes=5)
    assert not Delivery.objects.filter(customer=ana).exists()
    # The other customer's step went through in the same batch.
    assert Delivery.objects.filter(customer=bea).count() == 1


def test_a_condition_that_fails_ends_the_enrolment(catalogue):
    keyed = activate("review-request")
    ana = reachable_customer()
    order = bought(ana, catalogue["boots"], at=T0)
    journeys.enrol(
        journey=keyed["review-request"],
        customer=ana,
        trigger_key="fulfilment:1",
        triggered_at=T0,
        subject={"order_id": order.pk},
        now=T0,
    )
    type(order).objects.filter(pk=order.pk).update(status="cancelled")

    journeys.run_journeys(now=T0 + timedelta(days=2))

    enrollment = Enrollment.objects.get()
    assert enrollment.state == Enrollment.State.EXITED
    assert enrollment.exit_reason == "condition:order_not_cancelled"
    assert not Delivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_work_each_enrolment_once(catalogue):
    activate("welcome")
    # Each new customer is enrolled on commit, as at a real signup.
    readers = [reachable_customer(first_name=f"Reader{n}") for n in range(30)]
    assert Enrollment.objects.filter(customer__in=readers).count() == 30
    at = timezone.now() + timedelta(minutes=1)
    errors = []

    def tick():
        try:
            journeys.advance_due_enrollments(now=at, batch_size=4)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert DiscountCode.objects.filter(issued_to__in=readers).count() == 30
    assert Delivery.objects.filter(customer__in=readers).count() == 30
    for enrollment in Enrollment.objects.all():
        sends = [entry for entry in enrollment.history if entry.get("event") == "send"]
        assert len(sends) == 1
        assert enrollment.due_at == enrollment.triggered_at + timedelta(days=3)


def test_a_step_list_with_an_unknown_rule_or_message_writes_nothing():
    journey = activate("welcome")["welcome"]
    before = list(journey.steps.values_list("position", "kind", "message_key", "rule"))

    with pytest.raises(journeys.UnknownJourneyRule):
        journeys.set_steps(
            journey=journey,
            steps=[{"kind": "send", "message_key": "welcome"}, {"kind": "exit_when", "rule": "x"}],
        )
    with pytest.raises(journeys.InvalidJourneyStep):
        journeys.set_steps(journey=journey, steps=[{"kind": "send", "message_key": "nope"}])

    assert list(journey.steps.values_list("position", "kind", "message_key", "rule")) == before


def test_a_journey_message_still_needs_consent_when_the_worker_sends_it(catalogue):
    activate("abandoned-cart")
    ana = reachable_customer()
    StatedPolicy.withdraw(ana, "email")
    cart_of(ana, [catalogue["boots"]])

    journeys.run_journeys(now=T0 + timedelta(hours=1))
    [delivery] = Delivery.objects.filter(customer=ana)
    send_batch(delivery_ids=[delivery.pk], now=T0 + timedelta(hours=1))

    delivery.refresh_from_db()
    assert delivery.transactional is False
    assert delivery.state == Delivery.State.SKIPPED
    assert delivery.skip_reason == Delivery.SkipReason.NO_CONSENT


def test_a_till_sale_starts_the_thank_you_review_and_cross_sell_messages(
    catalogue, django_capture_on_commit_callbacks
):
    from omni.auth import Actor
    from orders.services.pos import PosLine, PosSaleRequest, record_pos_sale
    from tests.factories import make_token

    activate("post-purchase", "review-request")
    ana = reachable_customer()
    address = ana.identities.get(kind="email").value
    token, _ = make_token(["sales:write"], locations=[catalogue["store"]], name="Till")
    # Someone else bought the jacket with the boots: the cross-sell suggests the boots.
    bought(CustomerFactory(first_name="Rui"), catalogue["jacket"], at=T0 - timedelta(days=3))
    rui_order = OrderFactory(customer=CustomerFactory(), placed_at=T0 - timedelta(days=2))
    OrderLineFactory(order=rui_order, sku=catalogue["jacket"], quantity=1)
    OrderLineFactory(order=rui_order, sku=catalogue["boots"], quantity=1)

    with django_capture_on_commit_callbacks(execute=True):
        sale, _ = record_pos_sale(
            request=PosSaleRequest(
                location=catalogue["store"],
                client_reference="T-1",
                lines=[PosLine("JKT-M", 1)],
                payments=[("card", Decimal("120.00"), "term")],
                customer_identities=[{"kind": "email", "value": address}],
                sold_at=T0,
            ),
            actor=Actor(token=token),
        )

    assert sorted(Enrollment.objects.values_list("journey__key", flat=True)) == [
        "post-purchase",
        "review-request",
    ]
    journeys.run_journeys(now=T0 + timedelta(minutes=1))
    [thanks] = Delivery.objects.filter(customer=ana)
    assert thanks.context["order"]["number"] == sale.number
    journeys.run_journeys(now=T0 + timedelta(days=2))
    assert Delivery.objects.filter(customer=ana, step_key__startswith="review#").exists()
    journeys.run_journeys(now=T0 + timedelta(days=21))
    cross_sell = Delivery.objects.get(customer=ana, step_key__startswith="cross_sell#")
    suggested = [item["name"] for item in cross_sell.context["recommendations"]]
    assert suggested[0] == catalogue["boots"].product.name
    assert catalogue["jacket"].product.name not in suggested


def test_coming_back_to_the_cart_ends_the_journey_and_a_new_idle_spell_starts_another(
    catalogue, django_capture_on_commit_callbacks
):
    activate("abandoned-cart")
    ana = reachable_customer()
    cart = cart_of(ana, [catalogue["boots"]])
    journeys.run_journeys(now=T0 + timedelta(hours=1))
    first = Enrollment.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        set_cart_line(cart=cart, sku=catalogue["jacket"], quantity=1)

    first.refresh_from_db()
    assert first.state == Enrollment.State.EXITED
    assert first.exit_reason == "exit_when:cart_active_again"
    cart.refresh_from_db()
    journeys.run_journeys(now=cart.last_activity_at + timedelta(hours=1))
    second = Enrollment.objects.exclude(pk=first.pk).get()
    assert second.triggered_at == cart.last_activity_at
    [_, reminder] = Delivery.objects.filter(customer=ana).order_by("pk")
    assert [line["sku"] for line in reminder.context["cart"]["lines"]] == ["BOOT-41", "JKT-M"]
