"""Whatever the order of opt-ins, opt-outs and sends, no marketing message goes to a
customer who did not consent to its channel at the moment it left."""

import datetime
import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Delivery
from campaigns.services.sending import send_batch, send_campaign
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.campaigns.policy import StatedPolicy
from tests.figures import report

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


# The same promise kept by the customers app's own consent records, opted in and out through
# every path a customer has (the service, the one-click unsubscribe link, an SMS STOP or
# START reply), with opt-outs also landing between a campaign's queueing and its sending.
consent = pytest.importorskip("customers.services.consent")
profile = pytest.importorskip("customers.services.profile")

recorded_step = st.one_of(
    st.tuples(
        st.sampled_from(["grant", "withdraw", "unsubscribe_link", "sms_stop", "sms_start"]),
        st.integers(0, 2),
        st.sampled_from(CHANNELS),
    ),
    st.tuples(
        st.sampled_from(["send", "queue_then_opt_out"]),
        st.sampled_from(["priority", "all"]),
        st.permutations(CHANNELS).map(lambda p: p[:2]),
    ),
)
REAL_CONSENT_RUNS = {"examples": 0, "deliveries_sent": 0, "deliveries_skipped": 0}


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(recorded_step, min_size=1, max_size=12), initially_granted=st.booleans())
def test_no_marketing_message_leaves_without_recorded_consent_whatever_the_sequence(
    steps, initially_granted, mailoutbox, outbox, settings
):
    """Through the real audience policy and the console backends: each message that left
    had its channel's consent as the customers app recorded it at the moment it left."""
    settings.OMNI_AUDIENCE_POLICY = "campaigns.audience.CustomersAudiencePolicy"
    REAL_CONSENT_RUNS["examples"] += 1
    with transaction.atomic():
        customers = [
            reachable_customer(first_name=name, app=True, time_zone="UTC")
            for name in ("Ana", "Bruno", "Carla")
        ]
        sent_before = len(mailoutbox) + len(outbox("sms")) + len(outbox("push"))
        opted_in: dict[tuple[int, str], bool] = {}  # the test's own record of each choice
        for customer, channel in itertools.product(customers, CHANNELS):
            if initially_granted:  # everyone starts opted in, so opt-outs have work to do
                consent.record_consent(customer=customer, channel=channel, status="granted")
                opted_in[(customer.pk, channel)] = True
        for customer in customers:  # no quiet hours: consent alone decides
            profile.update_preferences(
                customer=customer,
                quiet_hours_start=datetime.time(0),
                quiet_hours_end=datetime.time(0),
            )
        now = START
        sent = 0

        def choose(action, who, channel):
            customer = customers[who]
            if action in ("grant", "withdraw"):
                status = "granted" if action == "grant" else "withdrawn"
                consent.record_consent(customer=customer, channel=channel, status=status)
                opted_in[(customer.pk, channel)] = action == "grant"
            elif action == "unsubscribe_link":
                consent.unsubscribe(token=consent.unsubscribe_token(customer, channel))
                opted_in[(customer.pk, channel)] = False
            else:
                phone = customer.identities.get(kind="phone").value
                consent.process_sms_reply(
                    phone=phone, text="STOP" if action == "sms_stop" else "START"
                )
                opted_in[(customer.pk, "sms")] = action == "sms_start"

        for action, first, second in steps:
            now += datetime.timedelta(hours=25)  # beyond every frequency cap
            if action not in ("send", "queue_then_opt_out"):
                choose(action, first, second)
                continue
            campaign = campaign_with_variants(channels=list(second), channel_strategy=first)
            send_campaign(campaign=campaign, customer_ids=[c.public_id for c in customers], now=now)
            if action == "queue_then_opt_out":
                # Everyone withdraws the first channel while the deliveries wait in the queue.
                for who in range(3):
                    choose("withdraw", who, second[0])
            send_batch(
                delivery_ids=list(
                    Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True)
                ),
                now=now,
            )
            for delivery in Delivery.objects.filter(campaign=campaign):
                if delivery.state == "sent":
                    sent += 1
                    assert opted_in.get((delivery.customer_id, delivery.channel)), (
                        f"{delivery.channel} sent without consent"
                    )
                    assert consent.has_marketing_consent(delivery.customer, delivery.channel)
                else:
                    REAL_CONSENT_RUNS["deliveries_skipped"] += 1
        # Nothing left through a back door: the outboxes hold exactly the sent deliveries.
        assert len(mailoutbox) + len(outbox("sms")) + len(outbox("push")) - sent_before == sent
        REAL_CONSENT_RUNS["deliveries_sent"] += sent
        transaction.set_rollback(True)


def test_the_recorded_consent_property_sent_and_held_back_messages(request):
    """Runs after the property above: it exercised both outcomes, sent and skipped."""
    if not REAL_CONSENT_RUNS["examples"]:
        pytest.skip("the property did not run")
    report(
        request.config,
        f"consent property: {REAL_CONSENT_RUNS['examples']} sequences, "
        f"{REAL_CONSENT_RUNS['deliveries_sent']} deliveries sent, "
        f"{REAL_CONSENT_RUNS['deliveries_skipped']} held back",
    )
    assert REAL_CONSENT_RUNS["deliveries_sent"] > 0
    assert REAL_CONSENT_RUNS["deliveries_skipped"] > 0
