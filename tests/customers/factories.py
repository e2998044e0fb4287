"""Customers, their identities, consent, preferences and addresses."""

import factory
from django.utils import timezone

from customers.models import (
    Address,
    ConsentEvent,
    ConsentStatus,
    Customer,
    Identity,
    Preferences,
)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    language = "pt-PT"
    time_zone = "Europe/Lisbon"
    city = "Lisboa"
    postcode = factory.Sequence(lambda n: f"1{n % 1000:03d}-{n % 1000:03d}")
    country = "PT"


class IdentityFactory(factory.django.DjangoModelFactory):
    """An email by default; pass `kind` and `value` for the others (values are stored as
    given, so give them normalised)."""

    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    kind = Identity.Kind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")
    namespace = ""


class EmailFactory(IdentityFactory):
    pass


class PhoneFactory(IdentityFactory):
    kind = Identity.Kind.PHONE
    value = factory.Sequence(lambda n: f"+35191{n % 10_000_000:07d}")


class ConsentEventFactory(factory.django.DjangoModelFactory):
    """History only: use `customers.services.consent.record_consent` to keep the state."""

    class Meta:
        model = ConsentEvent

    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    status = ConsentStatus.GRANTED
    occurred_at = factory.LazyFunction(timezone.now)


class PreferencesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Preferences

    customer = factory.SubFactory(CustomerFactory)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    kind = Address.Kind.SHIPPING
    line1 = factory.Faker("street_address")
    city = "Lisboa"
    postcode = "1200-109"
    country = "PT"
