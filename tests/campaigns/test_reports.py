"""Uplift is measured against the holdout within the same window."""

import datetime
from decimal import Decimal

import pytest

from campaigns import reports
from campaigns.models import Assignment, Delivery
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

SENT = datetime.datetime(2026, 4, 1, 10, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def treated(campaign, customer):
    Assignment.objects.create(
        campaign=campaign, customer=customer, group="treatment", assigned_at=SENT
    )
    Delivery.objects.create(
        campaign=campaign,
        customer=customer,
        channel="email",
        address="x",
        state="delivered",
        queued_at=SENT,
        sent_at=SENT,
    )


def held(campaign, customer, group="holdout"):
    Assignment.objects.create(campaign=campaign, customer=customer, group=group, assigned_at=SENT)


def test_uplift_compares_buyers_within_the_window_in_both_groups():
    campaign = campaign_with_variants(holdout_percent=50)
    buyers = [reachable_customer(first_name=f"T{n}") for n in range(4)]
    for customer in buyers:
        treated(campaign, customer)
    # Three of four recipients buy within five days (one at the till), one on day 6.
    for customer, days, channel in zip(
        buyers, (1, 2, 4.9, 6), ("web", "store", "app", "web"), strict=True
    ):
        OrderFactory(
            customer=customer, total=Decimal("50"), placed_at=SENT + days * DAY, channel=channel
        )
    control = [reachable_customer(first_name=f"H{n}") for n in range(4)]
    held(campaign, control[0])
    held(campaign, control[1])
    held(campaign, control[2], group="global_holdout")
    held(campaign, control[3])
    # One held-out customer buys on day 3, another on day 7 (outside), one before.
    OrderFactory(customer=control[0], total=Decimal("80"), placed_at=SENT + 3 * DAY)
    OrderFactory(customer=control[1], total=Decimal("80"), placed_at=SENT + 7 * DAY)
    OrderFactory(customer=control[2], total=Decimal("80"), placed_at=SENT - DAY)

    figures = reports.uplift(campaign, window=5 * DAY)

    assert figures["treatment"] == {
        "customers": 4,
        "converters": 3,
        "conversion_rate": 0.75,
        "revenue_per_customer": "37.50",
    }
    assert figures["holdout"]["customers"] == 4
    assert figures["holdout"]["converters"] == 1
    assert figures["uplift_points"] == 0.5
    assert figures["relative_uplift"] == 2.0
    assert 0 < figures["p_value"] < 1
    assert not Delivery.objects.filter(customer__in=control).exists()
