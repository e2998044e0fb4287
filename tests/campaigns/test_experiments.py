"""A/B/n arms and holdouts: assigned in SQL by stable hashes, held-out customers get
nothing but are recorded, and a winner is declared only with significance."""

import datetime
from decimal import Decimal

import pytest

from campaigns.errors import InvalidExperiment, NoWinner
from campaigns.models import Arm, Assignment, Attribution, Delivery, Experiment
from campaigns.services.editing import set_message
from campaigns.services.experiments import decide_experiment, send_winner, set_experiment
from campaigns.services.sending import send_batch, send_campaign
from customers.models import Customer, Identity
from omni.errors import DomainError
from tests.campaigns.factories import CustomerFactory, IdentityFactory, campaign_with_variants
from tests.campaigns.policy import StatedPolicy
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

AFTERNOON = datetime.datetime(2026, 1, 15, 14, 0, tzinfo=datetime.UTC)


def audience(count: int) -> list[Customer]:
    """`count` customers with an email address and email consent, made in bulk."""
    customers = Customer.objects.bulk_create(
        Customer(first_name=f"Reader{n}", last_name="Costa", time_zone="Europe/Lisbon")
        for n in range(count)
    )
    Identity.objects.bulk_create(
        Identity(
            customer=c, kind=Identity.Kind.EMAIL, value=f"reader{c.pk}@example.com", verified=True
        )
        for c in customers
    )
    return customers


@pytest.fixture(autouse=True)
def everyone_consents(settings):
    # Audiences of thousands: consent stated set-based rather than customer by customer.
    settings.OMNI_AUDIENCE_POLICY = "tests.campaigns.policy.EveryoneConsents"


def arms_abc(campaign, splits=(50, 30, 20), **options):
    return set_experiment(
        campaign=campaign,
        arms=[
            {"key": key, "name": f"Subject {key}", "split_percent": split}
            for key, split in zip("ABC", splits, strict=False)
        ],
        **options,
    )


def test_arms_are_drawn_in_sql_within_tolerance_of_their_splits_and_never_change():
    customers = audience(3000)
    campaign = campaign_with_variants(channels=["email"])
    arms_abc(campaign)

    send_campaign(campaign=campaign, all_with_consent=True, now=AFTERNOON)

    counts = {
        key: Assignment.objects.filter(campaign=campaign, arm__key=key).count() for key in "ABC"
    }
    assert sum(counts.values()) == 3000
    # Binomial standard deviation at n = 3000 is at most 27 customers: 4 sigma tolerance.
    for key, share in zip("ABC", (0.5, 0.3, 0.2), strict=True):
        assert abs(counts[key] - 3000 * share) < 110, counts
    first = dict(
        Assignment.objects.filter(campaign=campaign).values_list("customer_id", "arm__key")
    )
    # Drawing again (a second send, a new experiment row) gives every customer the same arm.
    Assignment.objects.filter(campaign=campaign).delete()
    Delivery.objects.filter(campaign=campaign).delete()
    send_campaign(campaign=campaign, all_with_consent=True, now=AFTERNOON)
    again = dict(
        Assignment.objects.filter(campaign=campaign).values_list("customer_id", "arm__key")
    )
    assert again == first
    assert {c.pk for c in customers} == set(first)


def test_each_arm_gets_its_own_message(outbox):
    customers = audience(40)
    campaign = campaign_with_variants(channels=["email"])
    arms_abc(campaign, splits=(50, 50))
    set_message(
        campaign=campaign,
        step_key="main/B",
        variants={"email": {"subject": "Arm B says hello", "html": "<p>B</p>"}},
    )

    send_campaign(campaign=campaign, all_with_consent=True, now=AFTERNOON)
    ids = list(Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True))
    send_batch(delivery_ids=ids, now=AFTERNOON)

    arm_of = dict(
        Assignment.objects.filter(campaign=campaign).values_list("customer_id", "arm__key")
    )
    addresses = {f"reader{c.pk}@example.com": arm_of[c.pk] for c in customers}
    from django.core import mail

    assert len(mail.outbox) == 40
    for message in mail.outbox:
        arm = addresses[message.to[0]]
        assert ("Arm B says hello" in message.subject) == (arm == "B")


def test_held_out_customers_get_nothing_and_are_recorded(settings, outbox):
    settings.OMNI_GLOBAL_HOLDOUT_PERCENT = 10
    audience(1000)
    campaign = campaign_with_variants(channels=["email"], holdout_percent=20)

    result = send_campaign(campaign=campaign, all_with_consent=True, now=AFTERNOON)

    groups = {
        group: Assignment.objects.filter(campaign=campaign, group=group).count()
        for group in ("treatment", "holdout", "global_holdout")
    }
    assert sum(groups.values()) == 1000
    assert 60 < groups["global_holdout"] < 140
    assert 130 < groups["holdout"] < 230  # 20% of the 90% left
    held = Assignment.objects.filter(campaign=campaign).exclude(group="treatment")
    assert not Delivery.objects.filter(
        campaign=campaign, customer__in=held.values("customer")
    ).exists()
    assert Delivery.objects.filter(campaign=campaign).count() == groups["treatment"]
    assert result.skipped["holdout"] == groups["holdout"]
    assert result.skipped["global_holdout"] == groups["global_holdout"]


def test_the_global_holdout_is_the_same_customers_for_every_campaign(settings):
    settings.OMNI_GLOBAL_HOLDOUT_PERCENT = 15
    audience(500)
    first, second = campaign_with_variants(), campaign_with_variants()
    for campaign in (first, second):
        send_campaign(campaign=campaign, all_with_consent=True, now=AFTERNOON)

    def held(campaign):
        return set(
            Assignment.objects.filter(campaign=campaign, group="global_holdout").values_list(
                "customer_id", flat=True
            )
        )

    assert held(first) == held(second) != set()


def test_transactional_messages_ignore_holdouts(settings):
    settings.OMNI_GLOBAL_HOLDOUT_PERCENT = 50
    audience(50)
    campaign = campaign_with_variants(transactional=True, holdout_percent=50)
    result = send_campaign(campaign=campaign, all_with_consent=True, now=AFTERNOON)
    assert result.queued == 50
    assert not Assignment.objects.filter(campaign=campaign).exists()


@pytest.mark.parametrize(
    ("arms", "field"),
    [
        ([{"key": "A", "split_percent": 50}, {"key": "B", "split_percent": 40}], "arms"),
        ([{"key": "A", "split_percent": 100}], "arms"),
        ([{"key": "A", "split_percent": 50}, {"key": "A", "split_percent": 50}], "arms"),
        ([{"key": "A", "split_percent": 0}, {"key": "B", "split_percent": 100}], "arms[0]"),
        ([{"key": "", "split_percent": 50}, {"key": "B", "split_percent": 50}], "arms[0]"),
    ],
)
def test_bad_arms_are_refused_and_write_nothing(arms, field):
    campaign = campaign_with_variants()
    with pytest.raises(InvalidExperiment) as refused:
        set_experiment(campaign=campaign, arms=arms)
    assert refused.value.details["field"].startswith(field)
    assert not Experiment.objects.exists()
    assert not Arm.objects.exists()


def test_a_bad_significance_level_or_test_share_is_refused():
    campaign = campaign_with_variants()
    arms = [{"key": "A", "split_percent": 50}, {"key": "B", "split_percent": 50}]
    for options in ({"significance_level": "0.7"}, {"test_percent": 0}, {"metric": "clicks"}):
        with pytest.raises(DomainError):
            set_experiment(campaign=campaign, arms=arms, **options)
    assert not Experiment.objects.exists()


def _credit(campaign, customers, revenue="40.00"):
    """Orders credited to the campaign for these customers."""
    for customer in customers:
        delivery = Delivery.objects.get(campaign=campaign, customer=customer)
        order = OrderFactory(customer=customer, total=Decimal(revenue), placed_at=AFTERNOON)
        Attribution.objects.create(
            order=order,
            campaign=campaign,
            delivery=delivery,
            customer=customer,
            message_channel="email",
            touch="click",
            touched_at=AFTERNOON,
            order_channel="web",
            ordered_at=AFTERNOON,
            revenue=order.total,
            currency="EUR",
        )


def _sent(campaign):
    Delivery.objects.filter(campaign=campaign).update(state="sent", sent_at=AFTERNOON)


def _by_arm(campaign, key, in_test=True):
    return [
        a.customer
        for a in Assignment.objects.filter(campaign=campaign, arm__key=key, in_test=in_test)
        .select_related("customer")
        .order_by("customer_id")
    ]


def test_a_clear_winner_on_a_test_share_is_declared_and_sent_to_the_rest(outbox):
    audience(1200)
    campaign = campaign_with_variants(channels=["email"])
    arms_abc(campaign, splits=(50, 50), test_percent=50)

    first = send_campaign(campaign=campaign, all_with_consent=True, now=AFTERNOON)
    assert 500 < first.queued < 700
    assert (
        not Assignment.objects.filter(campaign=campaign, in_test=False).exclude(arm=None).exists()
    )
    _sent(campaign)
    a, b = _by_arm(campaign, "A"), _by_arm(campaign, "B")
    _credit(campaign, a[: len(a) // 20])  # A converts 5%
    _credit(campaign, b[: len(b) // 5])  # B converts 20%

    experiment = decide_experiment(campaign=campaign)

    assert experiment.winner.key == "B"
    (comparison,) = experiment.result["comparisons"]
    assert comparison["p_value"] < 0.001
    rest = send_winner(campaign=campaign)
    assert (
        rest.queued
        == Assignment.objects.filter(campaign=campaign, in_test=False)
        .exclude(group__in=["holdout", "global_holdout"])
        .count()
    )
    assert set(
        Assignment.objects.filter(campaign=campaign, in_test=False).values_list(
            "arm__key", flat=True
        )
    ) == {"B"}


def test_no_winner_is_declared_without_significance():
    audience(400)
    campaign = campaign_with_variants(channels=["email"])
    arms_abc(campaign, splits=(50, 50), test_percent=50, metric="revenue")
    send_campaign(campaign=campaign, all_with_consent=True, now=AFTERNOON)
    _sent(campaign)
    a, b = _by_arm(campaign, "A"), _by_arm(campaign, "B")
    _credit(campaign, a[:10], revenue="50.00")
    _credit(campaign, b[:11], revenue="50.00")

    experiment = decide_experiment(campaign=campaign)

    assert experiment.winner is None
    (comparison,) = experiment.result["comparisons"]
    assert comparison["p_value"] > 0.05
    assert comparison["df"] is not None
    with pytest.raises(NoWinner):
        send_winner(campaign=campaign)
    assert not Delivery.objects.filter(
        campaign=campaign, customer__campaign_assignments__in_test=False
    ).exists()


def test_an_experiment_cannot_change_once_the_campaign_started():
    customer = CustomerFactory()
    IdentityFactory(customer=customer)
    StatedPolicy.grant(customer, "email")
    campaign = campaign_with_variants()
    arms_abc(campaign, splits=(50, 50))
    send_campaign(campaign=campaign, all_with_consent=True, now=AFTERNOON)
    with pytest.raises(DomainError):
        arms_abc(campaign, splits=(70, 30))
    assert list(Arm.objects.values_list("split_percent", flat=True)) == [50, 50]
