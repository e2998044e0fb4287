import datetime
import threading

import pytest
from django.db import connection

from campaigns.models import Campaign, Delivery
from campaigns.services import sending
from campaigns.services.editing import cancel_campaign
from campaigns.services.sending import (
    Pacer,
    materialise_deliveries,
    release_due_deliveries,
    send_batch,
    send_campaign,
)
from customers.models import Customer
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.campaigns.policy import StatedPolicy

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# 14:00 in Lisbon (UTC+0 in winter): outside quiet hours.
AFTERNOON = datetime.datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
# 23:30 in Lisbon: inside the default 21:00–08:00 quiet hours.
LATE_EVENING = datetime.datetime(2026, 1, 15, 23, 30, tzinfo=UTC)


def ids_of(campaign):
    return list(Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True))


def send_all(campaign, customers, now):
    send_campaign(campaign=campaign, customer_ids=[c.public_id for c in customers], now=now)
    return send_batch(delivery_ids=ids_of(campaign), now=now)


def test_a_customer_without_consent_is_skipped_with_the_reason_and_nothing_is_sent(outbox):
    ana = reachable_customer(first_name="Ana")
    campaign = campaign_with_variants(channels=["sms"])

    send_all(campaign, [ana], AFTERNOON)

    delivery = Delivery.objects.get(campaign=campaign, customer=ana)
    assert (delivery.state, delivery.skip_reason) == ("skipped", "no_consent")
    assert delivery.skipped_at == AFTERNOON
    assert delivery.sent_at is None
    assert outbox("sms") == []


def test_a_customer_with_consent_gets_the_personalised_sms(outbox):
    ana = reachable_customer(first_name="Ana")
    StatedPolicy.grant(ana, "sms")
    campaign = campaign_with_variants(channels=["sms"])

    outcome = send_all(campaign, [ana], AFTERNOON)

    delivery = Delivery.objects.get(campaign=campaign, customer=ana)
    assert outcome == {"sent": 1}
    assert delivery.state == "sent"
    assert delivery.sent_at == AFTERNOON
    [sent] = outbox("sms")
    assert sent["to"] == delivery.address
    assert sent["text"].startswith("Hi Ana, spring sale today.")
    assert sent["id"] == delivery.provider_message_id


def test_quiet_hours_defer_to_their_end_in_the_customers_time_zone_and_the_sweep_sends(
    outbox, django_capture_on_commit_callbacks
):
    bruno = reachable_customer(first_name="Bruno", time_zone="America/New_York")
    StatedPolicy.grant(bruno, "sms")
    campaign = campaign_with_variants(channels=["sms"])
    # 03:00 UTC is 22:00 in New York: quiet until 08:00 there, 13:00 UTC.
    night = datetime.datetime(2026, 1, 15, 3, 0, tzinfo=UTC)

    send_all(campaign, [bruno], night)

    delivery = Delivery.objects.get(campaign=campaign)
    assert (delivery.state, delivery.skip_reason) == ("deferred", "quiet_hours_deferred")
    assert delivery.deferred_until == datetime.datetime(2026, 1, 15, 13, 0, tzinfo=UTC)
    assert outbox("sms") == []

    assert release_due_deliveries(now=night + datetime.timedelta(hours=9)) == 0
    with django_capture_on_commit_callbacks() as callbacks:
        assert release_due_deliveries(now=delivery.deferred_until) == 1
    assert len(callbacks) == 1  # one batch handed to the workers
    send_batch(delivery_ids=[delivery.pk], now=delivery.deferred_until)

    delivery.refresh_from_db()
    assert delivery.state == "sent"
    assert len(outbox("sms")) == 1


def test_email_is_not_held_by_quiet_hours_by_default(outbox, mailoutbox):
    ana = reachable_customer()
    StatedPolicy.grant(ana, "email")
    campaign = campaign_with_variants(channels=["email"])

    send_all(campaign, [ana], LATE_EVENING)

    assert Delivery.objects.get(campaign=campaign).state == "sent"
    assert len(mailoutbox) == 1


def test_the_sms_cap_holds_across_two_campaigns_until_the_window_passes(outbox):
    ana = reachable_customer()
    StatedPolicy.grant(ana, "sms")
    spring, flash, later = (campaign_with_variants(channels=["sms"]) for _ in range(3))

    send_all(spring, [ana], AFTERNOON)
    send_all(flash, [ana], AFTERNOON + datetime.timedelta(hours=3))
    send_all(later, [ana], AFTERNOON + datetime.timedelta(hours=24, minutes=1))

    states = {
        d.campaign_id: (d.state, d.skip_reason) for d in Delivery.objects.filter(customer=ana)
    }
    assert states == {
        spring.pk: ("sent", ""),
        flash.pk: ("skipped", "frequency_capped"),
        later.pk: ("sent", ""),
    }
    assert len(outbox("sms")) == 2


def test_the_customers_weekly_email_choice_is_longer_than_the_cap_and_wins(mailoutbox):
    ana = reachable_customer()
    StatedPolicy.grant(ana, "email")
    StatedPolicy.frequency[ana.pk] = "weekly"
    first, second, third = (campaign_with_variants(channels=["email"]) for _ in range(3))

    send_all(first, [ana], AFTERNOON)
    send_all(second, [ana], AFTERNOON + datetime.timedelta(days=2))
    send_all(third, [ana], AFTERNOON + datetime.timedelta(days=7, minutes=1))

    reasons = [
        Delivery.objects.get(campaign=c).skip_reason or "sent" for c in (first, second, third)
    ]
    assert reasons == ["sent", "frequency_capped", "sent"]
    assert len(mailoutbox) == 2


def test_transactional_messages_skip_consent_and_caps_but_still_need_an_address(outbox):
    ana = reachable_customer()
    nobody = reachable_customer(phone=False)
    ready, reminder = (
        campaign_with_variants(channels=["sms"], transactional=True) for _ in range(2)
    )

    send_all(ready, [ana, nobody], AFTERNOON)
    send_all(reminder, [ana], AFTERNOON + datetime.timedelta(minutes=5))

    assert Delivery.objects.get(campaign=ready, customer=ana).state == "sent"
    assert Delivery.objects.get(campaign=reminder, customer=ana).state == "sent"
    missing = Delivery.objects.get(campaign=ready, customer=nobody)
    assert (missing.state, missing.skip_reason) == ("skipped", "no_address")
    assert len(outbox("sms")) == 2


def test_priority_picks_push_for_app_users_then_sms_then_email():
    with_app = reachable_customer(first_name="Carla", app=True)
    phone_only = reachable_customer(first_name="Duarte", email=False)
    email_only = reachable_customer(first_name="Eva", phone=False)
    app_without_push_consent = reachable_customer(first_name="Filipa", app=True)
    for customer in (with_app, phone_only, email_only, app_without_push_consent):
        StatedPolicy.grant(customer, "sms", "email")
    StatedPolicy.grant(with_app, "push")
    campaign = campaign_with_variants(channels=["push", "sms", "email"])

    materialise_deliveries(
        campaign=campaign, customers=Customer.objects.all(), now=AFTERNOON, policy=StatedPolicy()
    )

    chosen = {d.customer.first_name: d.channel for d in Delivery.objects.filter(campaign=campaign)}
    assert chosen == {"Carla": "push", "Duarte": "sms", "Eva": "email", "Filipa": "sms"}


def test_materialising_twice_or_for_overlapping_audiences_adds_no_second_delivery():
    customers = [reachable_customer() for _ in range(5)]
    campaign = campaign_with_variants(channels=["email", "sms"], channel_strategy="all")
    policy = StatedPolicy()

    first = materialise_deliveries(
        campaign=campaign, customers=Customer.objects.all(), now=AFTERNOON, policy=policy
    )
    again = materialise_deliveries(
        campaign=campaign,
        customers=Customer.objects.filter(pk__in=[c.pk for c in customers[:3]]),
        now=AFTERNOON,
        policy=policy,
    )

    assert first.queued == 10
    assert again.queued == 0
    assert Delivery.objects.filter(campaign=campaign).count() == 10


def test_a_cancelled_campaign_sends_nothing_more(outbox):
    ana = reachable_customer()
    StatedPolicy.grant(ana, "sms")
    campaign = campaign_with_variants(channels=["sms"])
    send_campaign(campaign=campaign, customer_ids=[ana.public_id], now=AFTERNOON)

    cancel_campaign(campaign=campaign, now=AFTERNOON)
    send_batch(delivery_ids=ids_of(campaign), now=AFTERNOON)

    delivery = Delivery.objects.get(campaign=campaign)
    assert (delivery.state, delivery.skip_reason) == ("skipped", "cancelled")
    assert outbox("sms") == []


def test_a_one_off_campaign_is_sent_once_nothing_is_left_to_send():
    ana = reachable_customer()
    StatedPolicy.grant(ana, "email")
    campaign = campaign_with_variants(channels=["email"])
    send_all(campaign, [ana], AFTERNOON)

    release_due_deliveries(now=AFTERNOON)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT


def test_a_batch_whose_worker_died_after_claiming_is_sent_once_after_the_sweep(
    settings, outbox, django_capture_on_commit_callbacks
):
    from campaigns.services.sending import claim_batch

    readers = [reachable_customer() for _ in range(3)]
    for reader in readers:
        StatedPolicy.grant(reader, "sms")
    campaign = campaign_with_variants(channels=["sms"])
    send_campaign(campaign=campaign, customer_ids=[r.public_id for r in readers], now=AFTERNOON)
    claim_batch(ids_of(campaign))  # the worker took the batch and was killed
    assert send_batch(delivery_ids=ids_of(campaign), now=AFTERNOON) == {}  # still held

    settings.OMNI_STALE_CLAIM_AFTER = datetime.timedelta(0)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert release_due_deliveries() == 3
    assert len(callbacks) == 1
    send_batch(delivery_ids=ids_of(campaign), now=AFTERNOON)
    send_batch(delivery_ids=ids_of(campaign), now=AFTERNOON)

    assert Delivery.objects.filter(campaign=campaign, state="sent").count() == 3
    assert len(outbox("sms")) == 3


def test_an_unreachable_mail_server_puts_the_batch_back_in_the_queue_untouched(
    settings, mailoutbox
):
    import socket

    from campaigns.backends import BackendUnavailable

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    readers = [reachable_customer() for _ in range(3)]
    for reader in readers:
        StatedPolicy.grant(reader, "email")
    campaign = campaign_with_variants(channels=["email"])
    send_campaign(campaign=campaign, customer_ids=[r.public_id for r in readers], now=AFTERNOON)

    with pytest.raises(BackendUnavailable):
        send_batch(delivery_ids=ids_of(campaign), now=AFTERNOON)

    assert list(Delivery.objects.values_list("state", "sent_at")) == [("queued", None)] * 3
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_batch(delivery_ids=ids_of(campaign), now=AFTERNOON) == {"sent": 3}
    assert len(mailoutbox) == 3


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_batch_at_once_send_each_message_once(outbox):
    customers = [reachable_customer(first_name=f"Reader{n}") for n in range(40)]
    for customer in customers:
        StatedPolicy.grant(customer, "sms")
    campaign = campaign_with_variants(channels=["sms"])
    send_campaign(campaign=campaign, customer_ids=[c.public_id for c in customers], now=AFTERNOON)
    ids = ids_of(campaign)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait()
            send_batch(delivery_ids=ids, now=AFTERNOON)
            send_batch(delivery_ids=ids, now=AFTERNOON)  # a redelivered task
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sent_to = [line["to"] for line in outbox("sms")]
    assert len(sent_to) == 40
    assert len(set(sent_to)) == 40
    assert Delivery.objects.filter(campaign=campaign, state="sent").count() == 40


def test_an_order_notification_carries_its_own_context_and_is_sent_once(outbox):
    from campaigns.models import SmsVariant
    from campaigns.services.sending import send_to_customer

    ana = reachable_customer(first_name="Ana")  # no marketing consent: transactional
    ready = campaign_with_variants(channels=["sms"], transactional=True)
    SmsVariant.objects.filter(message__campaign=ready).update(
        text="{{ first_name }}, order {{ context.order }} is ready at {{ context.store }}."
    )
    context = {"order": "A-1001", "store": "Lisbon Chiado"}

    first = send_to_customer(campaign=ready, customer=ana, context=context, now=AFTERNOON)
    again = send_to_customer(campaign=ready, customer=ana, context=context, now=AFTERNOON)
    send_batch(delivery_ids=[d.pk for d in first], now=AFTERNOON)

    assert [d.pk for d in first] == [d.pk for d in again]
    assert first[0].context == context
    [sent] = outbox("sms")
    assert sent["text"] == "Ana, order A-1001 is ready at Lisbon Chiado."


# --- The per-worker send rate ----------------------------------------------------------------


class FakeClock:
    """A clock that only moves when the pacer sleeps."""

    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_pacer_spaces_sends_to_the_rate_and_carries_over_between_batches():
    fake = FakeClock()
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        pacer.wait(4.0)
    assert fake.slept == [0.25, 0.25]
    fake.now += 0.1  # a new batch starts 0.1 s later: it still waits out the spacing
    pacer.wait(4.0)
    assert fake.slept == [0.25, 0.25, 0.15]
    fake.now += 10  # idle for long: no debt, no burst of catching up
    pacer.wait(4.0)
    pacer.wait(4.0)
    assert fake.slept == [0.25, 0.25, 0.15, 0.25]


def test_the_pacer_never_waits_without_a_rate():
    fake = FakeClock()
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep)
    for _ in range(5):
        pacer.wait(0)
    assert fake.slept == []


def test_a_batch_waits_on_the_pacer_before_each_message(outbox, settings, monkeypatch):
    settings.OMNI_SEND_RATE_PER_WORKER = 50
    customers = [reachable_customer(first_name=name) for name in ("Ana", "Rui", "Eva")]
    for customer in customers:
        StatedPolicy.grant(customer, "sms")
    campaign = campaign_with_variants(channels=["sms"])
    rates: list[float] = []
    monkeypatch.setattr(sending.pacer, "wait", rates.append)
    assert send_all(campaign, customers, AFTERNOON) == {"sent": 3}
    assert rates == [50, 50, 50]
