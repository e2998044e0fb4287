"""Deliveries follow their customer through a merge (registered with `customers.hooks`),
and an erasure takes their addresses (`campaigns.privacy`).

A merged-away customer's deliveries move to the survivor, so frequency caps and "at most
once per campaign step and channel" hold for the person, not for one of their records. A
delivery the survivor already has for the same (campaign, step, channel) stays where it is:
moving it would break that rule, and both stay in the log.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from campaigns.models import Delivery, SegmentMember
from customers.hooks import register_erase_step, register_merge_participant, rows_participant


def _survivor_has_its_twin(source, target):
    return Exists(
        Delivery.objects.filter(
            customer=target,
            campaign=OuterRef("campaign"),
            step_key=OuterRef("step_key"),
            channel=OuterRef("channel"),
        )
    )


DELIVERIES = rows_participant("campaigns.deliveries", Delivery, keep=_survivor_has_its_twin)
move_deliveries = DELIVERIES.move
move_deliveries_back = DELIVERIES.move_back


def _survivor_is_on_the_list(source, target):
    return Exists(SegmentMember.objects.filter(customer=target, segment=OuterRef("segment")))


# Static segment lists follow the person too; a list already holding the survivor keeps
# the merged-away row where it is (merged-away customers never appear in a segment).
SEGMENT_MEMBERS = rows_participant(
    "campaigns.segment_members", SegmentMember, keep=_survivor_is_on_the_list
)


def register() -> None:
    from campaigns.privacy import erase_delivery_details

    register_merge_participant(DELIVERIES)
    register_erase_step("campaigns", erase_delivery_details)
    register_merge_participant(SEGMENT_MEMBERS)
