"""What an erasure takes out of campaigns: the addresses deliveries were sent to and the
context rendered into them (names, cart lines, codes). The deliveries themselves stay,
without anything personal, so campaign figures keep adding up."""

from campaigns.models import Delivery


def erase_delivery_details(customer) -> None:
    Delivery.objects.filter(customer=customer).update(address="", context={})
