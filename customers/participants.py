"""Engagement data taking part in merges, and stitching anonymous device events.

Each participant moves the merged-away customer's rows to the survivor and records their
ids, so unmerge moves back exactly those rows. Loyalty balances and metrics are derived
from the rows, so they are recomputed for both customers after each move.
"""

from __future__ import annotations

from customers.hooks import register_identity_listener, register_merge_participant, rows_participant
from customers.models import (
    ActivityEvent,
    Customer,
    Feedback,
    LoyaltyEntry,
    MetricsFact,
    SupportCase,
    TimelineEntry,
)
from customers.services import loyalty, metrics
from customers.services.events import stitch_device_events


def _recompute_balances(source: Customer, target: Customer) -> None:
    loyalty.recompute_balances(customer_ids=[source.pk, target.pk])


def _recompute_metrics(source: Customer, target: Customer) -> None:
    metrics.refresh_customer_metrics(customer_ids=[source.pk, target.pk])


PARTICIPANTS = [
    rows_participant("loyalty", LoyaltyEntry, after=_recompute_balances),
    rows_participant("support_cases", SupportCase),
    rows_participant("feedback", Feedback),
    rows_participant("activity_events", ActivityEvent),
    rows_participant("timeline", TimelineEntry),
    rows_participant("metrics", MetricsFact, after=_recompute_metrics),
]

for participant in PARTICIPANTS:
    register_merge_participant(participant)

register_identity_listener("events", stitch_device_events)
