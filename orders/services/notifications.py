"""Transactional messages (confirmation, ready for pickup, reminder, expired, shipped).

They go out whatever the marketing consent. Until the campaigns app's delivery machinery
sends them, they are recorded here as outgoing notifications, once per key.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from orders.models import Notification, Order


def notify_customer(
    *, order: Order, template: str, key: str, context: dict | None = None
) -> Notification:
    """Record one transactional message for the order's customer, at most once per key
    (retries and redeliveries cannot notify twice)."""
    channel, recipient = ("email", order.email) if order.email else ("sms", order.phone)
    try:
        with transaction.atomic():
            return Notification.objects.create(
                key=key,
                customer_id=order.customer_id,
                order=order,
                channel=channel,
                template=template,
                recipient=recipient,
                context={"order_number": order.number, **(context or {})},
            )
    except IntegrityError:
        return Notification.objects.get(key=key)
