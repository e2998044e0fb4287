import io

import pytest

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
