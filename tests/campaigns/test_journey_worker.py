"""The abandoned-cart journey end to end, with a real Celery worker and email over real SMTP.

Time is moved by the test: the journey tick and the worker's send rules both take the
clock the test gives (`now`), nothing sleeps for an hour.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from campaigns.journey_models import Enrollment, Journey
from campaigns.journey_seed import ensure_journeys
from campaigns.models import Delivery
from campaigns.tasks import run_journeys
from omni.auth import Actor
from omni.models import Scope
from orders.models import DiscountCode, Order
from orders.services.carts import empty_cart, open_cart, set_cart_line
from orders.services.checkout import CheckoutRequest, LineRequest, place_order
from orders.services.checkout import Delivery as Shipping
from orders.services.pos import PosLine, PosSaleRequest, record_pos_sale
from tests.campaigns.factories import reachable_customer
from tests.campaigns.policy import StatedPolicy
from tests.campaigns.test_worker import Inbox, free_port, wait_for
from tests.factories import LocationFactory, make_token
from tests.inventory.factories import ProductFactory, SkuFactory, StockLevelFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


@pytest.fixture
def smtp_inbox(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


@pytest.fixture
def shop():
    lisbon = LocationFactory(
        code="lisbon-chiado",
        name="Lisbon Chiado",
        offers_click_and_collect=True,
        ships_to_customers=True,
    )
    jacket = SkuFactory(
        code="JKT-M", name="Rain jacket M", price=Decimal("120.00"), product=ProductFactory()
    )
    boots = SkuFactory(
        code="BOOT-41", name="Hiking boots 41", price=Decimal("80.00"), product=ProductFactory()
    )
    StockLevelFactory(location=lisbon, sku=jacket, on_hand=2)
    StockLevelFactory(location=lisbon, sku=boots, on_hand=20)
    journeys = ensure_journeys(active=False)
    Journey.objects.filter(key="abandoned-cart").update(active=True)
    return {"lisbon": lisbon, "jacket": jacket, "boots": boots, "journeys": journeys}


def abandon_cart(customer, skus, at):
    cart = open_cart(channel="web", customer=customer)
    for sku in skus:
        set_cart_line(cart=cart, sku=sku, quantity=1)
    type(cart).objects.filter(pk=cart.pk).update(last_activity_at=at)
    cart.refresh_from_db()
    return cart


def tick(at):
    # What the beat runs every minute, here with the test's clock.
    return run_journeys(at=at.isoformat())


def journey_deliveries(customer):
    return Delivery.objects.filter(customer=customer, campaign__journey__key="abandoned-cart")


def settled() -> bool:
    return not Delivery.objects.filter(state__in=["queued", "sending"]).exists()


def mails_to(inbox, address):
    return [message for rcpt, message in inbox.messages if address in rcpt]


def test_abandoned_cart_sends_at_one_hour_and_a_unique_code_at_24_hours_that_works_at_checkout(
    celery_worker_thread, smtp_inbox, shop
):
    ana = reachable_customer(first_name="Ana", phone=False)
    bruno = reachable_customer(first_name="Bruno", phone=False)
    StatedPolicy.grant(ana, "email")
    StatedPolicy.grant(bruno, "email")
    idle_since = timezone.now()
    cart = abandon_cart(ana, [shop["jacket"], shop["boots"]], idle_since)
    abandon_cart(bruno, [shop["boots"]], idle_since)

    # Twenty minutes in: not idle long enough, nothing happens.
    assert tick(idle_since + timedelta(minutes=20))["enrolled"] == 0
    # One hour in: both are enrolled and get the reminder with the items and live stock.
    tick(idle_since + timedelta(hours=1))
    assert wait_for(settled)
    assert wait_for(lambda: len(smtp_inbox.messages) == 2)
    [reminder] = mails_to(smtp_inbox, ana_address := ana.identities.get(kind="email").value)
    html = reminder.get_body(("html",)).get_content()
    assert "your cart is waiting" in reminder["Subject"]
    assert "Rain jacket M" in html
    assert "Only 2 left" in html
    assert "Hiking boots 41" in html
    assert "In stock" in html

    # Later ticks before 24 hours send nothing more.
    tick(idle_since + timedelta(hours=5))
    assert wait_for(settled)
    assert len(smtp_inbox.messages) == 2

    # 24 hours in: the second message carries a unique single-use 10% code each.
    tick(idle_since + timedelta(hours=24))
    assert wait_for(settled)
    assert wait_for(lambda: len(smtp_inbox.messages) == 4)
    [_, with_code] = mails_to(smtp_inbox, ana_address)
    ana_code = DiscountCode.objects.get(issued_to=ana)
    bruno_code = DiscountCode.objects.get(issued_to=bruno)
    assert ana_code.code != bruno_code.code
    assert ana_code.single_use
    assert ana_code.promotion.value == Decimal("10.00")
    assert ana_code.code in with_code.get_body(("plain",)).get_content()
    assert journey_deliveries(ana).filter(state="sent").count() == 2
    assert Enrollment.objects.get(customer=ana).state == Enrollment.State.COMPLETED

    # The code works at checkout: 10% off the cart, once.
    order = place_order(
        request=CheckoutRequest(
            channel="web",
            customer_public_id=str(ana.public_id),
            lines=[LineRequest("JKT-M", 1), LineRequest("BOOT-41", 1)],
            delivery=Shipping("ship"),
            discount_code=ana_code.code.lower(),
            cart=cart,
        )
    )
    assert order.discount_total == Decimal("20.00")
    assert order.total == Decimal("180.00")
    ana_code.refresh_from_db()
    assert ana_code.times_redeemed == 1


def test_a_customer_who_buys_at_the_till_in_between_gets_nothing_more(
    celery_worker_thread, smtp_inbox, shop
):
    carla = reachable_customer(first_name="Carla", phone=False)
    StatedPolicy.grant(carla, "email")
    address = carla.identities.get(kind="email").value
    idle_since = timezone.now()
    abandon_cart(carla, [shop["jacket"]], idle_since)
    tick(idle_since + timedelta(hours=1))
    assert wait_for(settled)
    assert wait_for(lambda: len(mails_to(smtp_inbox, address)) == 1)

    # She walks into the Lisbon store and buys the jacket at the till, with her email.
    token, _ = make_token([Scope.SALES_WRITE], locations=[shop["lisbon"]], name="Till 1")
    sale, _ = record_pos_sale(
        request=PosSaleRequest(
            location=shop["lisbon"],
            client_reference="T-100",
            lines=[PosLine("JKT-M", 1)],
            payments=[("card", Decimal("120.00"), "term-1")],
            customer_identities=[{"kind": "email", "value": address}],
        ),
        actor=Actor(token=token),
    )
    assert sale.customer_id == carla.pk
    # The journey stops the moment the sale is recorded, before any tick.
    enrollment = Enrollment.objects.get(customer=carla)
    assert enrollment.state == Enrollment.State.EXITED
    assert enrollment.exit_reason == "exit_when:cart_items_bought"

    tick(idle_since + timedelta(hours=24))
    assert wait_for(settled)
    assert len(mails_to(smtp_inbox, address)) == 1
    assert not DiscountCode.objects.filter(issued_to=carla).exists()
    assert journey_deliveries(carla).count() == 1


def test_emptying_the_cart_exits_the_journey(celery_worker_thread, smtp_inbox, shop):
    dani = reachable_customer(first_name="Dani", phone=False)
    StatedPolicy.grant(dani, "email")
    idle_since = timezone.now()
    cart = abandon_cart(dani, [shop["boots"]], idle_since)
    tick(idle_since + timedelta(hours=1))
    assert wait_for(settled)
    assert journey_deliveries(dani).filter(state="sent").count() == 1

    empty_cart(cart=cart)

    enrollment = Enrollment.objects.get(customer=dani)
    assert enrollment.state == Enrollment.State.EXITED
    assert enrollment.exit_reason == "exit_when:cart_closed"
    tick(idle_since + timedelta(hours=24))
    assert wait_for(settled)
    assert journey_deliveries(dani).count() == 1
    assert not Order.objects.filter(customer=dani).exists()


def test_the_beat_schedule_runs_the_journey_tick_on_the_worker(
    celery_worker_thread, smtp_inbox, shop
):
    from django_celery_beat.models import PeriodicTask

    from omni.celery import app
    from omni.services import ensure_schedules

    eva = reachable_customer(first_name="Eva", phone=False)
    StatedPolicy.grant(eva, "email")
    abandon_cart(eva, [shop["boots"]], timezone.now() - timedelta(hours=2))
    ensure_schedules()
    task = PeriodicTask.objects.get(task="campaigns.run_journeys")
    assert task.interval.every == 60

    app.send_task(task.task)

    assert wait_for(lambda: journey_deliveries(eva).filter(state="sent").exists())
    assert wait_for(lambda: len(smtp_inbox.messages) == 1)
    assert Enrollment.objects.get(customer=eva).step_position == 6
