"""The default audience policy against the customers app's own consent and preferences.
Skipped until `customers.services.consent` is on the branch (it lands with the customers
identity work); then it checks the names campaigns depends on, end to end."""

import datetime

import pytest

consent = pytest.importorskip("customers.services.consent")
profile = pytest.importorskip("customers.services.profile")

from campaigns.audience import CustomersAudiencePolicy  # noqa: E402
from campaigns.models import Delivery  # noqa: E402
from campaigns.services.sending import send_batch, send_campaign  # noqa: E402
from tests.campaigns.factories import campaign_with_variants, reachable_customer  # noqa: E402

pytestmark = pytest.mark.django_db

NOON = datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def customers_policy(settings):
    settings.OMNI_AUDIENCE_POLICY = "campaigns.audience.CustomersAudiencePolicy"


def test_consent_recorded_in_customers_decides_who_gets_the_campaign(outbox):
    ana = reachable_customer(first_name="Ana")
    bruno = reachable_customer(first_name="Bruno")
    consent.record_consent(customer=ana, channel="sms", status="granted")
    consent.record_consent(customer=bruno, channel="sms", status="granted")
    consent.record_consent(customer=bruno, channel="sms", status="withdrawn")
    campaign = campaign_with_variants(channels=["sms"])

    send_campaign(campaign=campaign, all_with_consent=True, now=NOON)
    send_batch(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)), now=NOON)

    assert list(Delivery.objects.values_list("customer__first_name", "state")) == [("Ana", "sent")]
    assert len(outbox("sms")) == 1


def test_the_customers_quiet_hours_and_email_frequency_are_used():
    ana = reachable_customer(time_zone="Europe/Lisbon")
    profile.update_preferences(
        customer=ana,
        quiet_hours_start=datetime.time(11),
        quiet_hours_end=datetime.time(13),
        email_frequency="monthly",
    )
    policy = CustomersAudiencePolicy()

    assert policy.quiet_hours(ana) == (datetime.time(11), datetime.time(13), "Europe/Lisbon")
    assert policy.email_frequency(ana) == "monthly"
    link = policy.unsubscribe_link(ana, "email", campaign_with_variants())
    assert link.startswith("https://omni.example.com/")
