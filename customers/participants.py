"""Engagement data taking part in merges, and stitching anonymous device events.

Each participant moves the merged-away customer's rows to the survivor and records their
ids, so unmerge moves back exactly those rows. Loyalty balances and metrics are derived
from the rows, so they are recomputed for both customers after each move.
"""

from __future__ import annotations

from django.db import models

from customers.hooks import MergeParticipant, register_identity_listener, register_merge_participant
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


def _move_rows(model: type[models.Model], source: Customer, target: Customer) -> list[int]:
    ids = list(model.objects.filter(customer=source).order_by("pk").values_list("pk", flat=True))
    model.objects.filter(pk__in=ids).update(customer=target)
    return ids


def _move_back_rows(model: type[models.Model], ids: list[int], source: Customer) -> None:
    model.objects.filter(pk__in=ids).update(customer=source)


def _rows_participant(name: str, model: type[models.Model], after=None) -> MergeParticipant:
    def move(source: Customer, target: Customer) -> dict:
        record = {"ids": _move_rows(model, source, target)}
        if after:
            after(source, target)
        return record

    def move_back(record: dict, source: Customer, target: Customer) -> None:
        _move_back_rows(model, record.get("ids", []), source)
        if after:
            after(source, target)

    return MergeParticipant(name=name, move=move, move_back=move_back)


def _recompute_balances(source: Customer, target: Customer) -> None:
    loyalty.recompute_balances(customer_ids=[source.pk, target.pk])


def _recompute_metrics(source: Customer, target: Customer) -> None:
    metrics.refresh_customer_metrics(customer_ids=[source.pk, target.pk])


PARTICIPANTS = [
    _rows_participant("loyalty", LoyaltyEntry, after=_recompute_balances),
    _rows_participant("support_cases", SupportCase),
    _rows_participant("feedback", Feedback),
    _rows_participant("activity_events", ActivityEvent),
    _rows_participant("timeline", TimelineEntry),
    _rows_participant("metrics", MetricsFact, after=_recompute_metrics),
]

for participant in PARTICIPANTS:
    register_merge_participant(participant)

register_identity_listener("events", stitch_device_events)
