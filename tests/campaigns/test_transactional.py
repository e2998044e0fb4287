"""Order and pickup updates go out through transactional campaigns: exempt from marketing
consent and caps, not from a hard opt-out of the channel (an SMS STOP)."""

from decimal import Decimal

import pytest
from django.core import mail

from campaigns.journey_models import TransactionalMessage
from campaigns.models import Delivery
from campaigns.services.sending import send_batch
from campaigns.services.transactional import send_order_notification
from orders.models import Fulfilment, Notification
from orders.services.checkout import CheckoutRequest, LineRequest, place_order
from orders.services.checkout import Delivery as Shipping
from orders.services.fulfilment import mark_ready_for_pickup
from tests.campaigns.factories import reachable_customer
from tests.campaigns.policy import StatedPolicy
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lisbon():
    store = LocationFactory(
        code="lisbon-chiado", name="Lisbon Chiado", offers_click_and_collect=True
    )
    sku = SkuFactory(code="JKT-M", name="Rain jacket M", price=Decimal("120.00"))
    StockLevelFactory(location=store, sku=sku, on_hand=5)
    return store


def order_for(customer, lisbon, capture):
    with capture(execute=True):
        return place_order(
            request=CheckoutRequest(
                channel="web",
                customer_public_id=str(customer.public_id),
                lines=[LineRequest("JKT-M", 1)],
                delivery=Shipping("click_and_collect", lisbon),
            )
        )


def deliveries_of(customer, template):
    campaign = TransactionalMessage.objects.get(template=template).campaign
    return list(Delivery.objects.filter(customer=customer, campaign=campaign))


def send_all(deliveries):
    send_batch(delivery_ids=[delivery.pk for delivery in deliveries])
    for delivery in deliveries:
        delivery.refresh_from_db()


def test_the_order_confirmation_goes_without_marketing_consent(
    lisbon, django_capture_on_commit_callbacks
):
    ana = reachable_customer(phone=False)  # never asked for marketing consent
    order = order_for(ana, lisbon, django_capture_on_commit_callbacks)

    [delivery] = deliveries_of(ana, "order_confirmation")
    send_all([delivery])

    assert delivery.transactional
    assert delivery.state == Delivery.State.SENT
    assert delivery.step_key == f"main#confirmation:{order.pk}"
    [message] = mail.outbox
    assert order.number in message.subject
    notification = Notification.objects.get(template="order_confirmation")
    assert notification.status == Notification.Status.SENT


def test_ready_for_pickup_carries_the_code_and_store(lisbon, django_capture_on_commit_callbacks):
    ana = reachable_customer(phone=False)
    order = order_for(ana, lisbon, django_capture_on_commit_callbacks)
    fulfilment = order.fulfilments.get()
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment = mark_ready_for_pickup(fulfilment=fulfilment)

    [delivery] = deliveries_of(ana, "ready_for_pickup")
    send_all([delivery])

    assert delivery.state == Delivery.State.SENT
    text = mail.outbox[-1].body
    assert fulfilment.pickup_code in text
    assert "Lisbon Chiado" in text
    assert fulfilment.status == Fulfilment.Status.READY_FOR_PICKUP


def test_an_sms_stop_also_stops_order_updates_by_sms(lisbon, django_capture_on_commit_callbacks):
    bea = reachable_customer(first_name="Bea", email=False)
    StatedPolicy.withdraw(bea, "sms")
    order_for(bea, lisbon, django_capture_on_commit_callbacks)

    [delivery] = deliveries_of(bea, "order_confirmation")
    send_all([delivery])

    assert delivery.channel == "sms"
    assert delivery.state == Delivery.State.SKIPPED
    assert delivery.skip_reason == Delivery.SkipReason.NO_CONSENT


def test_an_email_unsubscribe_does_not_stop_order_updates(
    lisbon, django_capture_on_commit_callbacks
):
    ana = reachable_customer(phone=False)
    StatedPolicy.withdraw(ana, "email")
    order_for(ana, lisbon, django_capture_on_commit_callbacks)

    [delivery] = deliveries_of(ana, "order_confirmation")
    send_all([delivery])

    assert delivery.state == Delivery.State.SENT


def test_a_notification_handed_over_twice_is_delivered_once(
    lisbon, django_capture_on_commit_callbacks
):
    ana = reachable_customer(phone=False)
    order_for(ana, lisbon, django_capture_on_commit_callbacks)
    notification = Notification.objects.get(template="order_confirmation")

    send_order_notification(notification.pk)
    send_order_notification(notification.pk)

    assert len(deliveries_of(ana, "order_confirmation")) == 1


def test_order_updates_do_not_count_against_marketing_caps(
    lisbon, django_capture_on_commit_callbacks
):
    ana = reachable_customer(phone=False)
    first = order_for(ana, lisbon, django_capture_on_commit_callbacks)
    second = order_for(ana, lisbon, django_capture_on_commit_callbacks)

    deliveries = deliveries_of(ana, "order_confirmation")
    send_all(deliveries)

    assert {d.state for d in deliveries} == {Delivery.State.SENT}
    assert {d.step_key for d in deliveries} == {
        f"main#confirmation:{first.pk}",
        f"main#confirmation:{second.pk}",
    }


@pytest.mark.django_db(transaction=True)
def test_with_the_customers_policy_a_stop_reply_is_a_hard_opt_out(settings, lisbon):
    from customers.services.consent import process_sms_reply

    settings.OMNI_AUDIENCE_POLICY = "campaigns.audience.CustomersAudiencePolicy"
    bea = reachable_customer(first_name="Bea", email=False)
    phone = bea.identities.get(kind="phone").value
    process_sms_reply(phone=phone, text="STOP")

    # Transaction mode: the confirmation is handed over on commit, as in production.
    place_order(
        request=CheckoutRequest(
            channel="web",
            customer_public_id=str(bea.public_id),
            lines=[LineRequest("JKT-M", 1)],
            delivery=Shipping("click_and_collect", lisbon),
        )
    )
    [delivery] = deliveries_of(bea, "order_confirmation")
    send_all([delivery])

    assert delivery.skip_reason == Delivery.SkipReason.NO_CONSENT
