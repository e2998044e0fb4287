"""Factories for the engagement tests (loyalty, cases, feedback, timeline, events,
metrics). The customer factory is minimal on purpose: identities are made explicitly."""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from customers.models import (
    ActivityEvent,
    Channel,
    Customer,
    Identity,
    MetricsFact,
    SupportCase,
    TimelineEntry,
)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Sequence(lambda n: f"Customer{n}")
    last_name = "Silva"


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    kind = Identity.Kind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")


class SupportCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportCase

    customer = factory.SubFactory(CustomerFactory)
    subject = factory.Sequence(lambda n: f"Question {n}")
    channel = Channel.WEB


class PurchaseFactFactory(factory.django.DjangoModelFactory):
    """A purchase as the metrics see it, written directly (as a backfill would)."""

    class Meta:
        model = MetricsFact

    customer = factory.SubFactory(CustomerFactory)
    kind = MetricsFact.Kind.PURCHASE
    reference = factory.Sequence(lambda n: f"ORD-{n}")
    occurred_at = factory.LazyFunction(lambda: datetime(2026, 6, 1, tzinfo=UTC))
    channel = Channel.WEB
    revenue = Decimal("100.00")
    cost = Decimal("40.00")
    discount = Decimal("0.00")
    currency = "EUR"


class TimelineEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEntry

    customer = factory.SubFactory(CustomerFactory)
    kind = TimelineEntry.Kind.WEB_EVENT
    occurred_at = factory.LazyFunction(lambda: datetime(2026, 6, 1, tzinfo=UTC))
    title = "Viewed a product"


class ActivityEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActivityEvent

    event_id = factory.Sequence(lambda n: f"evt-{n}")
    type = ActivityEvent.Type.PRODUCT_VIEWED
    occurred_at = factory.LazyFunction(lambda: datetime(2026, 6, 1, tzinfo=UTC))
    channel = Channel.APP
    device_id = "device-1"
