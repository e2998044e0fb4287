"""Attribution: last touch within the window, one credit per order, every channel."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Attribution, Delivery
from campaigns.services.attribution import attribute_order, recompute_attributions
from omni.auth import Actor
from omni.models import Scope
from orders.services.pos import PosLine, PosSaleRequest, record_pos_sale
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.factories import LocationFactory, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

ORDER_AT = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


def delivery(campaign, customer, *, channel="email", clicked=None, opened=None, sent=None):
    sent = sent or (clicked or opened or ORDER_AT) - H
    state = "clicked" if clicked else "opened" if opened else "sent"
    return Delivery.objects.create(
        campaign=campaign,
        customer=customer,
        channel=channel,
        address="x",
        state=state,
        queued_at=sent,
        sent_at=sent,
        opened_at=opened or clicked,
        clicked_at=clicked,
    )


def order(customer, total="80.00", at=ORDER_AT, channel="web"):
    return OrderFactory(customer=customer, total=Decimal(total), placed_at=at, channel=channel)


@pytest.mark.parametrize(
    ("clicked_before", "credited"),
    [(4 * D, True), (5 * D - H, True), (5 * D + H, False), (6 * D, False)],
)
def test_a_click_earns_the_order_for_five_days(clicked_before, credited):
    ana = reachable_customer(first_name="Ana")
    campaign = campaign_with_variants()
    delivery(campaign, ana, clicked=ORDER_AT - clicked_before)
    placed = order(ana)

    assert (attribute_order(order_id=placed.pk) is not None) is credited


@pytest.mark.parametrize(("opened_before", "credited"), [(23 * H, True), (25 * H, False)])
def test_an_open_earns_the_order_for_one_day(opened_before, credited):
    ana = reachable_customer(first_name="Ana")
    campaign = campaign_with_variants()
    delivery(campaign, ana, opened=ORDER_AT - opened_before)
    placed = order(ana)

    credit = attribute_order(order_id=placed.pk)

    assert (credit is not None) is credited
    if credit:
        assert (credit.touch, credit.campaign, credit.revenue) == ("open", campaign, Decimal("80"))


def test_the_windows_are_settings(settings):
    settings.OMNI_ATTRIBUTION_CLICK_WINDOW = datetime.timedelta(days=2)
    ana = reachable_customer(first_name="Ana")
    delivery(campaign_with_variants(), ana, clicked=ORDER_AT - 3 * D)
    assert attribute_order(order_id=order(ana).pk) is None


def test_an_sms_counts_from_its_delivery_since_it_reports_no_opens():
    ana = reachable_customer(first_name="Ana")
    campaign = campaign_with_variants(channels=["sms"])
    delivery(campaign, ana, channel="sms", sent=ORDER_AT - 2 * H)
    credit = attribute_order(order_id=order(ana).pk)
    assert (credit.message_channel, credit.touch) == ("sms", "open")


def test_the_last_touch_wins_and_each_order_is_credited_once():
    ana = reachable_customer(first_name="Ana")
    spring, weekend = campaign_with_variants(), campaign_with_variants()
    delivery(spring, ana, clicked=ORDER_AT - 3 * D)
    latest = delivery(weekend, ana, opened=ORDER_AT - 2 * H)
    placed = order(ana)

    attribute_order(order_id=placed.pk)
    attribute_order(order_id=placed.pk)

    credit = Attribution.objects.get(order=placed)
    assert (credit.campaign, credit.delivery) == (weekend, latest)
    assert Attribution.objects.count() == 1


def test_transactional_messages_and_cancelled_orders_earn_nothing():
    ana = reachable_customer(first_name="Ana")
    receipt = campaign_with_variants(transactional=True)
    Delivery.objects.filter(pk=delivery(receipt, ana, clicked=ORDER_AT - H).pk).update(
        transactional=True
    )
    assert attribute_order(order_id=order(ana).pk) is None
    delivery(campaign_with_variants(), ana, clicked=ORDER_AT - H)
    cancelled = order(ana)
    cancelled.status = "cancelled"
    cancelled.save()
    assert attribute_order(order_id=cancelled.pk) is None


def test_a_till_sale_is_credited_to_the_message_the_customer_clicked(
    django_capture_on_commit_callbacks,
):
    lisbon = LocationFactory(code="lisbon-chiado", name="Lisbon Chiado")
    sneaker = SkuFactory(code="SNK-AURA-42", price=Decimal("89.99"))
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=5)
    ana = reachable_customer(first_name="Ana")
    email = ana.identities.get(kind="email").value
    campaign = campaign_with_variants()
    clicked = delivery(campaign, ana, clicked=timezone.now() - 2 * D)
    token, _ = make_token([Scope.SALES_WRITE], locations=[lisbon])

    with django_capture_on_commit_callbacks(execute=True):
        sale, _ = record_pos_sale(
            request=PosSaleRequest(
                location=lisbon,
                client_reference="T-1001",
                lines=[PosLine(sneaker.code, 1)],
                customer_identities=[{"kind": "email", "value": email}],
            ),
            actor=Actor(token=token),
        )

    assert sale.customer == ana
    credit = Attribution.objects.get(order=sale)
    assert (credit.campaign, credit.delivery, credit.order_channel) == (campaign, clicked, "store")
    assert credit.revenue == sale.total


def test_the_backfill_credits_again_with_the_same_rule():
    ana, rui = reachable_customer(first_name="Ana"), reachable_customer(first_name="Rui")
    campaign = campaign_with_variants()
    delivery(campaign, ana, clicked=ORDER_AT - D)
    first = order(ana)
    late = order(rui)
    # Rui's click is recorded after his order was placed (a late tracking event).
    delivery(campaign, rui, clicked=ORDER_AT - 2 * D)
    Attribution.objects.all().delete()

    count = recompute_attributions(since=ORDER_AT - D, until=ORDER_AT + D)

    assert count == 2
    assert set(Attribution.objects.values_list("order", flat=True)) == {first.pk, late.pk}
