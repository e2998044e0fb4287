"""What happened to a message after it left: receipts from providers, opens and clicks.

Rules kept here:
- State changes are compare-and-set against `TRANSITIONS`; a receipt that arrives late or
  twice (providers retry) changes nothing and is not an error.
- The first time of each event is kept (opened_at, clicked_at, ...).
- A click implies an open; an open or a click implies the message was delivered, but does
  not invent a `delivered_at`.
"""

from __future__ import annotations

import datetime

from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.errors import DeliveryNotFound
from campaigns.models import Delivery

S = Delivery.State
TRANSITIONS = {
    S.DELIVERED: [S.SENT],
    S.OPENED: [S.SENT, S.DELIVERED],
    S.CLICKED: [S.SENT, S.DELIVERED, S.OPENED],
    S.BOUNCED: [S.SENT, S.DELIVERED],
    S.FAILED: [S.SENT],
}
STAMPS = {
    S.DELIVERED: "delivered_at",
    S.OPENED: "opened_at",
    S.CLICKED: "clicked_at",
    S.BOUNCED: "bounced_at",
    S.FAILED: "failed_at",
}
RECEIPT_STATES = (S.DELIVERED, S.BOUNCED, S.FAILED)


def _move(delivery_filter, to: str, at: datetime.datetime, **extra) -> int:
    stamps = {STAMPS[to]: Coalesce(STAMPS[to], Value(at))}
    if to == S.CLICKED:
        stamps["opened_at"] = Coalesce("opened_at", Value(at))
    return delivery_filter.filter(state__in=TRANSITIONS[to]).update(state=to, **stamps, **extra)


def record_receipt(
    *,
    channel: str,
    provider_message_id: str,
    status: str,
    occurred_at: datetime.datetime | None = None,
    error: str = "",
) -> tuple[Delivery, bool]:
    """A provider's delivery receipt: delivered, bounced or failed. Returns the delivery and
    whether it changed."""
    at = occurred_at or timezone.now()
    matching = Delivery.objects.filter(channel=channel, provider_message_id=provider_message_id)
    delivery = matching.first()
    if delivery is None:
        raise DeliveryNotFound(channel=channel, provider_message_id=provider_message_id)
    extra = {"error": error[:2000]} if error else {}
    changed = _move(matching, status, at, **extra) > 0
    delivery.refresh_from_db()
    return delivery, changed


def record_open(*, delivery_id: int, at: datetime.datetime | None = None) -> bool:
    """The tracking pixel was loaded (the first open counts; later ones keep the time)."""
    at = at or timezone.now()
    moved = _move(Delivery.objects.filter(pk=delivery_id), S.OPENED, at)
    return moved > 0


def record_click(*, delivery_id: int, at: datetime.datetime | None = None) -> bool:
    at = at or timezone.now()
    return _move(Delivery.objects.filter(pk=delivery_id), S.CLICKED, at) > 0
