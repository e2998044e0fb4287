import pytest

from campaigns.models import Delivery
from customers.services.privacy import erase_customer
from tests.campaigns.factories import CustomerFactory, DeliveryFactory

pytestmark = pytest.mark.django_db


def test_an_erasure_takes_the_address_and_rendered_context_out_of_every_delivery():
    ana = CustomerFactory(first_name="Ana")
    sent = DeliveryFactory(customer=ana)
    other = DeliveryFactory()

    erase_customer(customer=ana, reason="customer asked")

    sent.refresh_from_db()
    assert (sent.address, sent.context) == ("", {})
    assert sent.state == Delivery.State.SENT  # the campaign's figures still count it
    other.refresh_from_db()
    assert other.address
    assert other.context
