import io

import pytest
from django.db.models import F as models_F

from campaigns import seed
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db


def test_the_demo_campaign_is_seeded_once_with_a_variant_per_channel():
    seed.seed(stdout=io.StringIO())
    seed.seed(stdout=io.StringIO())

    campaign = Campaign.objects.get(name=seed.DEMO_NAME)
    message = campaign.messages.get()
    assert campaign.channels == ["push", "sms", "email"]
    assert message.email.subject
    assert message.sms.text
    assert message.push.title


def test_demo_segments_are_seeded_once_and_count(db):
    from campaigns.segment_models import Segment
    from campaigns.segmentation.services import segment_customers
    from inventory.models import Category

    Category.objects.create(name="Footwear", slug="footwear")
    seed.seed(stdout=io.StringIO())
    seed.seed(stdout=io.StringIO())

    assert Segment.objects.count() == 5
    assert Segment.objects.filter(kind="static").count() == 1
    for segment in Segment.objects.all():
        assert segment_customers(segment).count() == 0


def test_the_demo_results_have_deliveries_credited_orders_a_holdout_and_schedules():
    import datetime
    from decimal import Decimal

    from django.utils import timezone

    from campaigns.models import Assignment, Attribution, Delivery, Schedule
    from tests.campaigns.factories import CustomerFactory
    from tests.orders.factories import OrderFactory

    now = timezone.now()
    for index in range(300):
        customer = CustomerFactory()
        # Orders spread over the last three weeks, some right after each demo send.
        OrderFactory(
            customer=customer,
            total=Decimal("50.00"),
            placed_at=now - datetime.timedelta(hours=3 + index * 1.6),
        )

    seed.seed(stdout=io.StringIO())
    seed.seed(stdout=io.StringIO())

    sent = Campaign.objects.filter(status="sent")
    assert sent.count() == 3
    assert Delivery.objects.filter(campaign__in=sent).count() > 600
    assert Assignment.objects.filter(group="holdout").count() > 60
    assert not Delivery.objects.filter(
        customer__campaign_assignments__group="holdout",
        campaign__in=Assignment.objects.filter(group="holdout").values("campaign"),
        customer__campaign_assignments__campaign=models_F("campaign"),
    ).exists()
    assert Attribution.objects.count() > 10
    assert Schedule.objects.count() == 3
