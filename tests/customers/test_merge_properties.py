"""Any merge, then its unmerge, gives both customers back exactly as they were.

Hypothesis draws two customers with any mix of identities, consent histories per channel,
addresses, preferences, profile blanks, loyalty points, timeline entries and orders, merges
them either way round through the real service and undoes it. Both customers' full
snapshots after the unmerge equal their snapshots before the merge. Consent history is
append-only, so the merge may leave its own audit events behind; every choice the customer
made stays theirs and their current consent per channel is what it was.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import (
    Address,
    ConsentEvent,
    Customer,
    Identity,
    LoyaltyAccount,
    LoyaltyEntry,
    Preferences,
    TimelineEntry,
)
from customers.services.consent import current_consent, record_consent
from customers.services.loyalty import earn_points
from customers.services.merge import merge_customers, unmerge_customers
from customers.services.timeline import add_timeline_entry
from orders.models import Order
from tests.customers.factories import AddressFactory, CustomerFactory, IdentityFactory
from tests.figures import report
from tests.orders.factories import OrderFactory

CHANNELS = ["email", "sms", "push", "phone"]
START = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)
RUNS = {"examples": 0}

consent_choice = st.tuples(st.sampled_from(CHANNELS), st.sampled_from(["granted", "withdrawn"]))
person = st.fixed_dictionaries(
    {
        "emails": st.integers(0, 2),
        "phones": st.integers(0, 1),
        "consents": st.lists(consent_choice, max_size=5),
        "addresses": st.lists(
            st.tuples(st.sampled_from(["shipping", "billing"]), st.booleans()), max_size=3
        ),
        "preferences": st.booleans(),
        "profile": st.fixed_dictionaries(
            {
                "first_name": st.sampled_from(["", "Ana"]),
                "city": st.sampled_from(["", "Porto"]),
                "birth_date": st.sampled_from([None, datetime.date(1990, 4, 1)]),
            }
        ),
        "points": st.lists(st.integers(1, 500), max_size=3),
        "timeline": st.integers(0, 2),
        "orders": st.integers(0, 2),
    }
)


def _build(spec: dict, name: str, clock: list) -> Customer:
    customer = CustomerFactory(**spec["profile"])
    for n in range(spec["emails"]):
        IdentityFactory(customer=customer, kind="email", value=f"{name}{n}@example.com")
    for n in range(spec["phones"]):
        IdentityFactory(
            customer=customer, kind="phone", value=f"+35191{1 if name == 'ana' else 2}00{n:04d}"
        )
    for channel, status in spec["consents"]:
        clock[0] += datetime.timedelta(minutes=7)
        record_consent(customer=customer, channel=channel, status=status, occurred_at=clock[0])
    for kind, default in spec["addresses"]:
        AddressFactory(
            customer=customer,
            kind=kind,
            is_default=default
            and not Address.objects.filter(customer=customer, kind=kind, is_default=True).exists(),
        )
    if spec["preferences"]:
        Preferences.objects.create(customer=customer)
    for n, points in enumerate(spec["points"]):
        earn_points(
            customer=customer, reference_type="gift", reference_id=f"{name}-{n}", points=points
        )
    for n in range(spec["timeline"]):
        clock[0] += datetime.timedelta(minutes=3)
        add_timeline_entry(
            customer=customer, kind="note", occurred_at=clock[0], title=f"{name} note {n}"
        )
    for _ in range(spec["orders"]):
        OrderFactory(customer=customer, total=Decimal("30.00"))
    return customer


def _snapshot(customer: Customer) -> dict:
    customer = Customer.objects.get(pk=customer.pk)
    row = {
        field.attname: getattr(customer, field.attname)
        for field in Customer._meta.concrete_fields
        if field.attname != "updated_at"
    }
    own_choices = ConsentEvent.objects.filter(customer=customer).exclude(
        form__in=["customer merge", "customer unmerge"]
    )
    return {
        "row": row,
        "identities": sorted(
            Identity.objects.filter(customer=customer).values_list(
                "pk", "kind", "value", "namespace"
            )
        ),
        "consent_events": sorted(own_choices.values_list("pk", "channel", "status")),
        "consent_now": {
            channel: state.status for channel, state in current_consent(customer).items()
        },
        "addresses": sorted(
            Address.objects.filter(customer=customer).values_list("pk", "kind", "is_default")
        ),
        "preferences": list(
            Preferences.objects.filter(customer=customer).values_list("pk", flat=True)
        ),
        "loyalty": sorted(
            LoyaltyEntry.objects.filter(customer=customer).values_list("pk", "points")
        ),
        # The account row is made on first use; no row reads as a zero bronze balance.
        "loyalty_balance": LoyaltyAccount.objects.filter(customer=customer)
        .values_list("balance", "tier")
        .first()
        or (0, "bronze"),
        "timeline": sorted(
            TimelineEntry.objects.filter(customer=customer).values_list("pk", "kind", "title")
        ),
        "orders": sorted(Order.objects.filter(customer=customer).values_list("pk", "total")),
    }


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=person, second=person, first_survives=st.booleans())
def test_merge_then_unmerge_restores_both_customers_exactly(first, second, first_survives):
    RUNS["examples"] += 1
    with transaction.atomic():
        clock = [START]
        ana = _build(first, "ana", clock)
        bea = _build(second, "bea", clock)
        before = {"ana": _snapshot(ana), "bea": _snapshot(bea)}
        survivor, merged = (ana, bea) if first_survives else (bea, ana)
        merge = merge_customers(survivor=survivor, merged=merged, reason="same person?")
        assert Customer.objects.get(pk=merged.pk).merged_into_id == survivor.pk
        unmerge_customers(merge=merge, reason="two people after all")
        after = {"ana": _snapshot(ana), "bea": _snapshot(bea)}
        assert after == before
        transaction.set_rollback(True)


def test_the_merge_property_ran(request):
    """Runs after the property above: reports how many pairs it merged and unmerged."""
    if not RUNS["examples"]:
        pytest.skip("the property did not run")
    report(request.config, f"merge property: {RUNS['examples']} pairs merged and unmerged")
    assert RUNS["examples"] >= 10
