"""Merging two customers into one, and undoing it.

Rules kept here:
- A merge is explicit (staff, or a named rule), audited in `CustomerMerge` (who, when,
  why) with what every participant moved. `merged` keeps its row and public ID with
  `merged_into` set, so its ID resolves to the survivor.
- Every participant registered with `customers.hooks` moves its rows; this app registers
  its own (identities, consent, preferences, addresses, profile blanks) the same way.
- Opt-outs are never lost: per channel, the two customers' latest choices are compared
  and the most restrictive wins (withdrawn beats granted beats no answer). If that differs
  from what the survivor's history now says, a "merge" consent event records it.
- Unmerge moves back exactly what the merge moved. It is refused while the survivor has
  itself been merged since (undo the later merge first), so moves unwind in order.
- Both customers are locked in primary-key order, so concurrent merges cannot deadlock.
"""

from __future__ import annotations

import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from customers import hooks
from customers.errors import MergeRefused, UnmergeRefused
from customers.hooks import MergeParticipant, register_merge_participant, rows_participant
from customers.models import (
    Address,
    ConsentEvent,
    ConsentStatus,
    Customer,
    CustomerMerge,
    DuplicateSuggestion,
    Identity,
    Preferences,
)
from customers.services.consent import current_consent, rebuild_consent_state
from customers.services.identity import PROFILE_FIELDS
from omni import audit
from omni.webhooks import emit

_RESTRICTIVENESS = {ConsentStatus.WITHDRAWN: 2, ConsentStatus.GRANTED: 1, None: 0}


def _lock_pair(first: Customer, second: Customer) -> tuple[Customer, Customer]:
    locked = {
        customer.pk: customer
        for customer in Customer.objects.select_for_update(of=("self",))
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    return locked[first.pk], locked[second.pk]


def merge_customers(
    *,
    survivor: Customer,
    merged: Customer,
    reason: str = "",
    rule: str = "",
    user=None,
    token=None,
) -> CustomerMerge:
    """Merge `merged` into `survivor`: every participant moves its rows, all audited."""
    if survivor.pk == merged.pk:
        raise MergeRefused("A customer cannot be merged with itself.")
    with transaction.atomic():
        survivor, merged = _lock_pair(survivor, merged)
        for role, customer in (("survivor", survivor), ("merged", merged)):
            if customer.merged_into_id is not None:
                raise MergeRefused(
                    f"The {role} was already merged into another customer.",
                    customer=str(customer.public_id),
                )
            if customer.erased_at is not None:
                raise MergeRefused(f"The {role} was erased.", customer=str(customer.public_id))
        moved = {
            participant.name: participant.move(merged, survivor)
            for participant in hooks.merge_participants()
        }
        Customer.objects.filter(pk=merged.pk).update(
            merged_into=survivor, updated_at=timezone.now()
        )
        merged.merged_into = survivor
        record = CustomerMerge.objects.create(
            survivor=survivor,
            merged=merged,
            reason=reason,
            rule=rule,
            merged_by=user if getattr(user, "pk", None) else None,
            merged_by_token=token,
            moved=moved,
        )
        low, high = sorted([survivor.pk, merged.pk])
        DuplicateSuggestion.objects.filter(
            first_id=low, second_id=high, status=DuplicateSuggestion.Status.OPEN
        ).update(status=DuplicateSuggestion.Status.MERGED)
        audit.record(
            "customer.merged",
            merged,
            actor=audit.by(user, token),
            before={"merged_into": None},
            after={"merged_into": survivor.pk, "merge": record.pk, "reason": reason, "rule": rule},
            customer=survivor,
        )
        emit("customer.merged", partial(_merge_data, record))
    return record


def _merge_data(record: CustomerMerge) -> dict:
    return {
        "survivor": str(record.survivor.public_id),
        "merged": str(record.merged.public_id),
        "merge_id": record.pk,
        "rule": record.rule,
    }


def unmerge_customers(
    *, merge: CustomerMerge, reason: str = "", user=None, token=None
) -> CustomerMerge:
    """Undo a merge: the merged-away customer comes back with exactly what was moved."""
    with transaction.atomic():
        merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.unmerged_at is not None:
            raise UnmergeRefused("This merge was already undone.", merge=merge.pk)
        survivor, merged = _lock_pair(merge.survivor, merge.merged)
        if survivor.merged_into_id is not None:
            raise UnmergeRefused(
                "The survivor has been merged into another customer since; undo that first.",
                merge=merge.pk,
            )
        participants = {participant.name: participant for participant in hooks.merge_participants()}
        missing = sorted(set(merge.moved) - set(participants))
        if missing:
            raise UnmergeRefused(
                "Some parts that moved rows in this merge are not installed.", missing=missing
            )
        for name in sorted(merge.moved, reverse=True):
            participants[name].move_back(merge.moved[name], merged, survivor)
        Customer.objects.filter(pk=merged.pk).update(merged_into=None, updated_at=timezone.now())
        now = timezone.now()
        CustomerMerge.objects.filter(pk=merge.pk).update(
            unmerged_at=now,
            unmerged_by=user if getattr(user, "pk", None) else None,
            unmerged_by_token=token,
            unmerge_reason=reason,
        )
        # Undone means "not the same person": do not suggest the pair again.
        low, high = sorted([survivor.pk, merged.pk])
        DuplicateSuggestion.objects.filter(first_id=low, second_id=high).update(
            status=DuplicateSuggestion.Status.DISMISSED
        )
        merge.refresh_from_db()
        audit.record(
            "customer.unmerged",
            merged,
            actor=audit.by(user, token),
            before={"merged_into": survivor.pk},
            after={"merged_into": None, "merge": merge.pk, "reason": reason},
            customer=survivor,
        )
    return merge


# --- This app's own participants --------------------------------------------------------------


def _move_consent(source: Customer, target: Customer) -> dict:
    before_target = current_consent(target)
    before_source = current_consent(source)
    ids = sorted(ConsentEvent.objects.filter(customer=source).values_list("pk", flat=True))
    ConsentEvent.objects.filter(pk__in=ids).update(customer=target)
    after = current_consent(target)
    merge_events: dict[str, int] = {}
    now = timezone.now()
    for channel, mine in before_target.items():
        theirs = before_source[channel]
        strictest = max((mine.status, theirs.status), key=lambda status: _RESTRICTIVENESS[status])
        if strictest is not None and after[channel].status != strictest:
            event = ConsentEvent.objects.create(
                customer=target,
                channel=channel,
                status=strictest,
                occurred_at=now,
                form="customer merge",
                evidence=f"most restrictive choice kept when merging {source.public_id}",
            )
            merge_events[channel] = event.pk
    rebuild_consent_state(customer=source)
    rebuild_consent_state(customer=target)
    return {
        "ids": ids,
        "merge_events": merge_events,
        "before": {channel: state.status for channel, state in before_target.items()},
    }


def _move_consent_back(record: dict, source: Customer, target: Customer) -> None:
    ConsentEvent.objects.filter(pk__in=record["ids"], customer=target).update(customer=source)
    latest = current_consent(target)
    now = timezone.now()
    for channel, event_id in record["merge_events"].items():
        previous = record["before"].get(channel)
        current = latest[channel].event
        # Only undo the merge's own decision, never a choice the customer made since.
        if previous and current is not None and current.pk == event_id:
            ConsentEvent.objects.create(
                customer=target,
                channel=channel,
                status=previous,
                occurred_at=now,
                form="customer unmerge",
                evidence=f"choice before merging {source.public_id} restored",
            )
    rebuild_consent_state(customer=source)
    rebuild_consent_state(customer=target)


def _move_preferences(source: Customer, target: Customer) -> dict:
    theirs = Preferences.objects.filter(customer=source).first()
    if theirs is None or Preferences.objects.filter(customer=target).exists():
        return {}
    Preferences.objects.filter(pk=theirs.pk).update(customer=target)
    return {"id": theirs.pk}


def _move_preferences_back(record: dict, source: Customer, target: Customer) -> None:
    if record.get("id"):
        Preferences.objects.filter(pk=record["id"], customer=target).update(customer=source)


def _move_addresses(source: Customer, target: Customer) -> dict:
    target_defaults = set(
        Address.objects.filter(customer=target, is_default=True).values_list("kind", flat=True)
    )
    # The survivor's defaults stay the defaults; the moved ones step aside (and step back
    # in on unmerge).
    undefaulted = sorted(
        Address.objects.filter(
            customer=source, is_default=True, kind__in=target_defaults
        ).values_list("pk", flat=True)
    )
    Address.objects.filter(pk__in=undefaulted).update(is_default=False)
    ids = sorted(Address.objects.filter(customer=source).values_list("pk", flat=True))
    Address.objects.filter(pk__in=ids).update(customer=target)
    return {"ids": ids, "undefaulted": undefaulted}


def _move_addresses_back(record: dict, source: Customer, target: Customer) -> None:
    # Moved rows may have become a default on the survivor since (its own default was
    # deleted); they come back as they were, one default per kind.
    moved_back = Address.objects.filter(pk__in=record["ids"], customer=target)
    moved_back.filter(pk__in=record["undefaulted"]).update(is_default=False)
    kinds = set(Address.objects.filter(pk__in=record["undefaulted"]).values_list("kind", flat=True))
    moved_back.filter(kind__in=kinds, is_default=True).update(is_default=False)
    Address.objects.filter(pk__in=record["ids"], customer=target).update(customer=source)
    Address.objects.filter(pk__in=record["undefaulted"], customer=source).update(is_default=True)


def _profile_value(customer: Customer, name: str):
    if name == "preferred_store":
        return customer.preferred_store_id
    value = getattr(customer, name)
    return value.isoformat() if isinstance(value, datetime.date) else value


def _move_profile(source: Customer, target: Customer) -> dict:
    """Fill the survivor's blank profile fields from the merged customer."""
    filled = {}
    for name in PROFILE_FIELDS:
        mine, theirs = _profile_value(target, name), _profile_value(source, name)
        if mine in (None, "") and theirs not in (None, ""):
            filled[name] = theirs
    if filled:
        updates = {
            ("preferred_store_id" if name == "preferred_store" else name): getattr(
                source, "preferred_store_id" if name == "preferred_store" else name
            )
            for name in filled
        }
        Customer.objects.filter(pk=target.pk).update(**updates)
        for name, value in updates.items():
            setattr(target, name, value)
    return {"filled": filled}


def _move_profile_back(record: dict, source: Customer, target: Customer) -> None:
    target.refresh_from_db()
    updates = {}
    for name, value in record["filled"].items():
        if _profile_value(target, name) == value:  # untouched since the merge
            column = "preferred_store_id" if name == "preferred_store" else name
            updates[column] = None if name in ("birth_date", "preferred_store") else ""
    if updates:
        Customer.objects.filter(pk=target.pk).update(**updates)


def register_own_participants() -> None:
    for name, move, move_back in (
        ("customers.addresses", _move_addresses, _move_addresses_back),
        ("customers.consent", _move_consent, _move_consent_back),
        ("customers.preferences", _move_preferences, _move_preferences_back),
        ("customers.profile", _move_profile, _move_profile_back),
    ):
        register_merge_participant(MergeParticipant(name, move, move_back))
    register_merge_participant(rows_participant("customers.identities", Identity))
