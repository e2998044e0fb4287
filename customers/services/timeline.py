"""The customer timeline: one chronological feed across channels.

Other apps add to it with `add_timeline_entry`; a reference makes the write idempotent, so
a retried task or a replayed request adds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from customers.models import Customer, TimelineEntry


def survivor_of(customer: Customer) -> Customer:
    """The customer that now stands for `customer`: merged-away customers point at the one
    they were merged into (possibly through a chain of merges)."""
    seen = set()
    while customer.merged_into_id is not None and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def add_timeline_entry(
    *,
    customer: Customer,
    kind: str,
    occurred_at: datetime,
    title: str,
    channel: str = "",
    location=None,
    data: dict | None = None,
    reference_type: str = "",
    reference_id: str = "",
) -> TimelineEntry:
    """Add one entry to a customer's feed (the survivor's, if they were merged). With a
    reference, the entry is written at most once per (kind, reference type, reference id);
    a repeat returns the entry already there."""
    customer = survivor_of(customer)
    entry = TimelineEntry(
        customer=customer,
        kind=kind,
        occurred_at=occurred_at,
        title=title[:200],
        channel=channel or "",
        location=location,
        data=data or {},
        reference_type=reference_type,
        reference_id=str(reference_id or ""),
    )
    if not entry.reference_id:
        entry.save()
        return entry
    with transaction.atomic():
        # ON CONFLICT DO NOTHING: concurrent retries never raise, and never write twice.
        TimelineEntry.objects.bulk_create([entry], ignore_conflicts=True)
        return TimelineEntry.objects.get(
            kind=kind, reference_type=reference_type, reference_id=entry.reference_id
        )


def timeline_for(customer: Customer, *, kinds: Iterable[str] | None = None) -> QuerySet:
    """The customer's feed, newest first, optionally only some kinds."""
    queryset = TimelineEntry.objects.filter(customer=survivor_of(customer)).select_related(
        "location"
    )
    kinds = [kind for kind in (kinds or []) if kind]
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    return queryset.order_by("-occurred_at", "-id")
