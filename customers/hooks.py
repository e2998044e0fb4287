"""Extension points other apps (and other parts of this app) register with, so that
`customers` never imports `orders` or `campaigns`.

- Merge participants: when customer B is merged into A, every participant moves its rows
  from B to A and returns what it moved, so unmerge can move exactly those rows back.
- Identity listeners: told when an identity is attached to a customer (e.g. to stitch
  anonymous app events recorded under a device id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class MergeParticipant:
    """`move(source, target)` moves rows from source to target inside the merge
    transaction and returns a JSON-serialisable record of what moved (e.g. row ids);
    `move_back(record, source, target)` undoes exactly that on unmerge."""

    name: str
    move: Callable
    move_back: Callable


_merge_participants: dict[str, MergeParticipant] = {}
_identity_listeners: dict[str, Callable] = {}


def register_merge_participant(participant: MergeParticipant) -> None:
    _merge_participants[participant.name] = participant


def merge_participants() -> list[MergeParticipant]:
    return [_merge_participants[name] for name in sorted(_merge_participants)]


def register_identity_listener(name: str, listener: Callable) -> None:
    """`listener(identity)` runs inside the transaction that attached the identity."""
    _identity_listeners[name] = listener


def identity_listeners() -> list[Callable]:
    return [_identity_listeners[name] for name in sorted(_identity_listeners)]
