"""Transactional messages (confirmation, ready for pickup, reminder, expired, shipped).

They go out whatever the marketing consent. Each is recorded here as a notification, once
per key; once the recording commits it is handed to the registered sender (campaigns
registers one that delivers it through its channels). Orders never imports the sender:
the dependency points one way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import Notification, Order

logger = logging.getLogger(__name__)

# `sender(notification_id)` delivers one recorded notification; safe to call twice.
_senders: dict[str, Callable[[int], None]] = {}


def register_notification_sender(name: str, sender: Callable[[int], None]) -> None:
    _senders[name] = sender


def _hand_over(notification_id: int) -> None:
    for name in sorted(_senders):
        try:
            _senders[name](notification_id)
        except Exception:
            # The order stands whatever the messaging does; the notification stays pending.
            logger.exception("notification sender %s failed for %s", name, notification_id)


def notify_customer(
    *, order: Order, template: str, key: str, context: dict | None = None
) -> Notification:
    """Record one transactional message for the order's customer, at most once per key
    (retries and redeliveries cannot notify twice), and hand it to the sender after commit."""
    channel, recipient = ("email", order.email) if order.email else ("sms", order.phone)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
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
    transaction.on_commit(partial(_hand_over, notification.pk))
    return notification


def mark_notification(*, notification: Notification, sent: bool, channel: str = "") -> Notification:
    """What became of a notification: handed to a channel (sent) or not deliverable."""
    fields = {"status": Notification.Status.SENT if sent else Notification.Status.FAILED}
    if sent:
        fields["sent_at"] = timezone.now()
    if channel:
        fields["channel"] = channel
    Notification.objects.filter(pk=notification.pk, status=Notification.Status.PENDING).update(
        **fields
    )
    notification.refresh_from_db()
    return notification
