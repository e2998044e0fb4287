"""Whatever the order of opt-ins, opt-outs and sends, no marketing message goes to a
customer who did not consent to its channel at the moment it left."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Delivery
from campaigns.services.sending import send_batch, send_campaign
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.campaigns.policy import StatedPolicy

CHANNELS = ["email", "sms", "push"]
START = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)

step = st.one_of(
    st.tuples(st.just("grant"), st.integers(0, 2), st.sampled_from(CHANNELS)),
    st.tuples(st.just("withdraw"), st.integers(0, 2), st.sampled_from(CHANNELS)),
    st.tuples(
        st.just("send"),
        st.sampled_from(["priority", "all"]),
        st.permutations(CHANNELS).map(lambda p: p[:2]),
    ),
)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_no_marketing_message_is_sent_without_consent_whatever_the_sequence(
    steps, mailoutbox, stated_policy
):
    with transaction.atomic():
        StatedPolicy.reset()
        customers = [
            reachable_customer(first_name=name, app=True, time_zone="UTC")
            for name in ("Ana", "Bruno", "Carla")
        ]
        for customer in customers:
            StatedPolicy.quiet[customer.pk] = (datetime.time(0), datetime.time(0))
        now = START
        consent_when_sent = []
        for action, first, second in steps:
            now += datetime.timedelta(hours=25)  # beyond every cap
            if action == "grant":
                StatedPolicy.grant(customers[first], second)
            elif action == "withdraw":
                StatedPolicy.withdraw(customers[first], second)
            else:
                campaign = campaign_with_variants(channels=list(second), channel_strategy=first)
                send_campaign(
                    campaign=campaign, customer_ids=[c.public_id for c in customers], now=now
                )
                send_batch(
                    delivery_ids=list(
                        Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True)
                    ),
                    now=now,
                )
                for delivery in Delivery.objects.filter(campaign=campaign, state="sent"):
                    consent_when_sent.append(
                        StatedPolicy().marketing_consent(delivery.customer, delivery.channel)
                    )
                for delivery in Delivery.objects.filter(campaign=campaign, state="skipped"):
                    assert delivery.skip_reason in {"no_consent", "no_address"}
        assert all(consent_when_sent)
        transaction.set_rollback(True)
