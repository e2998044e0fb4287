import datetime

import pytest

from campaigns.merging import move_deliveries, move_deliveries_back
from campaigns.models import Delivery
from campaigns.services.sending import send_batch, send_campaign
from customers.hooks import merge_participants
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.campaigns.policy import StatedPolicy

pytestmark = pytest.mark.django_db

NOON = datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)


def test_campaigns_take_part_in_customer_merges():
    assert "campaigns.deliveries" in [p.name for p in merge_participants()]


def test_a_merge_moves_deliveries_to_the_survivor_except_ones_it_already_has(outbox):
    ana = reachable_customer(first_name="Ana")
    ana_again = reachable_customer(first_name="Ana")
    StatedPolicy.grant(ana, "sms")
    StatedPolicy.grant(ana_again, "sms")
    shared, only_duplicate = (campaign_with_variants(channels=["sms"]) for _ in range(2))
    send_campaign(campaign=shared, customer_ids=[ana.public_id, ana_again.public_id], now=NOON)
    send_campaign(campaign=only_duplicate, customer_ids=[ana_again.public_id], now=NOON)

    record = move_deliveries(ana_again, ana)

    moved = Delivery.objects.get(campaign=only_duplicate)
    assert moved.customer == ana
    assert Delivery.objects.get(campaign=shared, customer=ana_again)  # stays, no clash
    assert record == {"ids": [moved.pk]}

    move_deliveries_back(record, ana_again, ana)
    moved.refresh_from_db()
    assert moved.customer == ana_again


def test_after_a_merge_the_cap_counts_what_the_merged_away_record_received(outbox):
    ana = reachable_customer()
    ana_again = reachable_customer()
    StatedPolicy.grant(ana, "sms")
    StatedPolicy.grant(ana_again, "sms")
    first, second = (campaign_with_variants(channels=["sms"]) for _ in range(2))
    send_campaign(campaign=first, customer_ids=[ana_again.public_id], now=NOON)
    send_batch(delivery_ids=[Delivery.objects.get(campaign=first).pk], now=NOON)

    move_deliveries(ana_again, ana)
    send_campaign(campaign=second, customer_ids=[ana.public_id], now=NOON)
    send_batch(delivery_ids=[Delivery.objects.get(campaign=second).pk], now=NOON)

    assert Delivery.objects.get(campaign=second).skip_reason == "frequency_capped"
    assert len(outbox("sms")) == 1
