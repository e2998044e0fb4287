"""Deliveries follow their customer through a merge (registered with `customers.hooks`).

A merged-away customer's deliveries move to the survivor, so frequency caps and "at most
once per campaign step and channel" hold for the person, not for one of their records. A
delivery the survivor already has for the same (campaign, step, channel) stays where it is:
moving it would break that rule, and both stay in the log.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from campaigns.models import Delivery
from customers.hooks import MergeParticipant, register_merge_participant


def move_deliveries(source, target) -> dict:
    survivor_has = Delivery.objects.filter(
        customer=target,
        campaign=OuterRef("campaign"),
        step_key=OuterRef("step_key"),
        channel=OuterRef("channel"),
    )
    ids = sorted(
        Delivery.objects.filter(customer=source)
        .exclude(Exists(survivor_has))
        .values_list("pk", flat=True)
    )
    Delivery.objects.filter(pk__in=ids).update(customer=target)
    return {"ids": ids}


def move_deliveries_back(record: dict, source, target) -> None:
    Delivery.objects.filter(pk__in=record["ids"], customer=target).update(customer=source)


def register() -> None:
    register_merge_participant(
        MergeParticipant("campaigns.deliveries", move_deliveries, move_deliveries_back)
    )
