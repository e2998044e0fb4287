"""Web and app activity: batch ingestion, idempotent by event ID, stitched to customers.

- An event names its customer by public ID, email, phone or device (app install) ID; the
  first that resolves wins. Otherwise it is kept anonymous under its device ID.
- One `INSERT … ON CONFLICT (event_id) DO NOTHING RETURNING event_id` writes a whole batch;
  an event ID already stored (or repeated in the batch) is reported as a duplicate and
  changes nothing.
- When a device is later identified (an `app_install` identity attached to a customer),
  `stitch_device_events` gives that device's anonymous events to the customer, so what they
  did on the app before signing in joins what they do on the web (cross-device).
- Events of identified customers appear on their timeline (store visits as store visits).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from customers.models import ActivityEvent, Channel, Customer, Identity, TimelineEntry
from customers.services.timeline import survivor_of

MAX_BATCH = 500

ACCEPTED = "accepted"
DUPLICATE = "duplicate"


@dataclass
class IncomingEvent:
    """One validated event from a batch."""

    event_id: str
    type: str
    occurred_at: datetime
    channel: str
    device_id: str = ""
    email: str = ""
    phone: str = ""
    customer_public_id: uuid.UUID | None = None
    location_id: int | None = None
    properties: dict = field(default_factory=dict)


def _customers_by_public_id(public_ids: set) -> dict:
    found = {}
    for customer in Customer.objects.filter(public_id__in=public_ids):
        found[customer.public_id] = survivor_of(customer).pk
    return found


def _customers_by_identity(kind: str, values: set[str]) -> dict[str, int]:
    if not values:
        return {}
    rows = Identity.objects.filter(kind=kind, namespace="", value__in=values).values_list(
        "value", "customer_id", "customer__merged_into_id"
    )
    found = {}
    for value, customer_id, merged_into_id in rows:
        # One hop is the common case; deeper merge chains are followed properly.
        found[value] = (
            customer_id
            if merged_into_id is None
            else survivor_of(Customer.objects.get(pk=customer_id)).pk
        )
    return found


def resolve_customers(events: Iterable[IncomingEvent]) -> dict[str, int | None]:
    """event_id → customer id (or None), by public ID, then email, then phone, then device.
    A handful of queries per batch, never one per event."""
    events = list(events)
    by_public_id = _customers_by_public_id(
        {e.customer_public_id for e in events if e.customer_public_id}
    )
    by_email = _customers_by_identity(
        Identity.Kind.EMAIL, {e.email.strip().lower() for e in events if e.email}
    )
    by_phone = _customers_by_identity(Identity.Kind.PHONE, {e.phone for e in events if e.phone})
    by_device = _customers_by_identity(
        Identity.Kind.APP_INSTALL, {e.device_id for e in events if e.device_id}
    )
    resolved: dict[str, int | None] = {}
    for event in events:
        resolved[event.event_id] = (
            by_public_id.get(event.customer_public_id)
            or by_email.get(event.email.strip().lower())
            or by_phone.get(event.phone)
            or by_device.get(event.device_id)
        )
    return resolved


_INSERT_HEAD = (
    "INSERT INTO customers_activityevent (event_id, type, occurred_at, received_at, device_id,"
    " customer_id, channel, location_id, properties) VALUES "
)
_ROW = "(%s, %s, %s, now(), %s, %s, %s, %s, %s::jsonb)"


def ingest_events(*, events: list[IncomingEvent]) -> dict[str, str]:
    """Store a batch (at most `MAX_BATCH`) in one statement; returns event_id → "accepted"
    or "duplicate". A repeated event ID in the same batch counts once."""
    if not events:
        return {}
    if len(events) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} events per batch")
    customers = resolve_customers(events)
    params: list = []
    for event in events:
        params += [
            event.event_id,
            event.type,
            event.occurred_at,
            event.device_id,
            customers[event.event_id],
            event.channel,
            event.location_id,
            json.dumps(event.properties, cls=DjangoJSONEncoder),
        ]
    sql = (
        _INSERT_HEAD
        + ", ".join([_ROW] * len(events))
        + " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted = {row[0] for row in cursor.fetchall()}
        identified = [
            event
            for event in events
            if event.event_id in inserted and customers[event.event_id] is not None
        ]
        _add_events_to_timeline(
            [(event, customers[event.event_id]) for event in _first_of_each(identified)]
        )
    outcome: dict[str, str] = {}
    for event in events:
        if event.event_id in inserted and event.event_id not in outcome:
            outcome[event.event_id] = ACCEPTED
        else:
            outcome.setdefault(event.event_id, DUPLICATE)
    return outcome


def _first_of_each(events: list[IncomingEvent]) -> list[IncomingEvent]:
    seen: set[str] = set()
    unique = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            unique.append(event)
    return unique


def timeline_kind(event_type: str, channel: str) -> str:
    if event_type == ActivityEvent.Type.STORE_VISITED:
        return TimelineEntry.Kind.STORE_VISIT
    if channel == Channel.APP:
        return TimelineEntry.Kind.APP_EVENT
    return TimelineEntry.Kind.WEB_EVENT


def _title(event_type: str, properties: dict) -> str:
    label = dict(ActivityEvent.Type.choices).get(event_type, event_type)
    detail = next(
        (
            str(properties[key])
            for key in ("query", "product_name", "name", "sku", "url")
            if properties.get(key)
        ),
        "",
    )
    return f"{label}: {detail}"[:200] if detail else label


def _add_events_to_timeline(pairs: list[tuple]) -> None:
    """`pairs` of (event-like, customer id) → timeline rows, once per event."""
    entries = [
        TimelineEntry(
            customer_id=customer_id,
            kind=timeline_kind(event.type, event.channel),
            occurred_at=event.occurred_at,
            channel=event.channel,
            location_id=event.location_id,
            title=_title(event.type, event.properties),
            data={"type": event.type, "properties": event.properties},
            reference_type="event",
            reference_id=event.event_id,
        )
        for event, customer_id in pairs
    ]
    if entries:
        TimelineEntry.objects.bulk_create(entries, ignore_conflicts=True, batch_size=500)


def stitch_device_events(identity: Identity) -> int:
    """Identity listener: when an app-install identity is attached to a customer, that
    device's anonymous events become the customer's. Returns how many were stitched."""
    if identity.kind != Identity.Kind.APP_INSTALL:
        return 0
    customer = survivor_of(identity.customer)
    with transaction.atomic():
        events = list(
            ActivityEvent.objects.select_for_update()
            .filter(device_id=identity.value, customer__isnull=True)
            .order_by("pk")
        )
        if not events:
            return 0
        ActivityEvent.objects.filter(pk__in=[event.pk for event in events]).update(
            customer=customer
        )
        _add_events_to_timeline([(event, customer.pk) for event in events])
    return len(events)
