import factory
from django.utils import timezone

from campaigns.models import Campaign, Delivery, EmailVariant, Message, PushVariant, SmsVariant
from customers.models import Customer, Identity


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = "Ana"
    last_name = factory.Sequence(lambda n: f"Silva{n}")
    time_zone = "Europe/Lisbon"


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    kind = Identity.Kind.EMAIL
    value = factory.Sequence(lambda n: f"reader{n}@example.com")
    verified = True


def reachable_customer(*, email=True, phone=True, app=False, **fields) -> Customer:
    """A customer with addresses on the channels asked for."""
    customer = CustomerFactory(**fields)
    if email:
        IdentityFactory(
            customer=customer,
            kind=Identity.Kind.EMAIL,
            value=f"{customer.first_name.lower()}.{customer.pk}@example.com",
        )
    if phone:
        IdentityFactory(
            customer=customer, kind=Identity.Kind.PHONE, value=f"+3519100{customer.pk:05d}"
        )
    if app:
        IdentityFactory(
            customer=customer, kind=Identity.Kind.APP_INSTALL, value=f"device-{customer.pk}"
        )
    return customer


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Spring sale {n}")
    channels = factory.LazyFunction(lambda: ["email"])


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message
        django_get_or_create = ["campaign", "step_key"]

    campaign = factory.SubFactory(CampaignFactory)
    step_key = "main"


class EmailVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailVariant

    message = factory.SubFactory(MessageFactory)
    subject = "Hello {{ first_name }}, spring is here"
    preheader = "New arrivals at {{ preferred_store }}"
    html = (
        "<html><body><p>Hi {{ first_name }},</p>"
        '<p><a href="https://shop.example.com/spring?utm=email">See the collection</a></p>'
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
    )
    text = "Hi {{ first_name }}, see https://shop.example.com/spring"


class SmsVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SmsVariant

    message = factory.SubFactory(MessageFactory)
    text = "Hi {{ first_name }}, spring sale today. Reply STOP to opt out."


class PushVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PushVariant

    message = factory.SubFactory(MessageFactory)
    title = "Spring is here"
    body = "{{ first_name }}, new arrivals in your size"
    deep_link = "omni://collections/spring"


def campaign_with_variants(*, channels=("email",), **fields) -> Campaign:
    """A campaign with a complete main message for each of its channels."""
    campaign = CampaignFactory(channels=list(channels), **fields)
    message = MessageFactory(campaign=campaign)
    variant_factories = {
        "email": EmailVariantFactory,
        "sms": SmsVariantFactory,
        "push": PushVariantFactory,
    }
    for channel in channels:
        variant_factories[channel](message=message)
    return campaign


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    campaign = factory.SubFactory(CampaignFactory)
    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    address = factory.LazyAttribute(lambda delivery: f"{delivery.customer.pk}@example.com")
    state = Delivery.State.SENT
    queued_at = factory.LazyFunction(timezone.now)
    context = factory.LazyFunction(lambda: {"first_name": "Ana", "code": "WELCOME-7Q2"})
