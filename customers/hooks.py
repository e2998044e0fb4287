"""Extension points other apps (and other parts of this app) register with, so that
`customers` never imports `orders` or `campaigns`.

- Merge participants: when customer B is merged into A, every participant moves its rows
  from B to A and returns what it moved, so unmerge can move exactly those rows back.
- Identity listeners: told when an identity is attached to a customer (e.g. to stitch
  anonymous app events recorded under a device id).
- Consent listeners: told of every consent choice recorded (e.g. for the timeline).
- Privacy: export sections, erase guards (which can refuse an erasure) and erase steps.
- The admin's customer 360 page: panels rendered in order, with reserved slots.
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


_consent_listeners: dict[str, Callable] = {}


def register_consent_listener(name: str, listener: Callable) -> None:
    """`listener(event)` runs inside the transaction that recorded a `ConsentEvent` (e.g.
    to put it on the customer's timeline)."""
    _consent_listeners[name] = listener


def consent_listeners() -> list[Callable]:
    return [_consent_listeners[name] for name in sorted(_consent_listeners)]


# --- Privacy --------------------------------------------------------------------------------
# Export sections: `fn(customer) -> JSON-serialisable` adds `name` to the export document.
# Erase guards: `fn(customer) -> str | None`; a string is the reason the erasure is refused
# (e.g. "order 1042 is still open"). Erase steps: `fn(customer)` anonymises the part's own
# rows inside the erase transaction (e.g. support case messages).

_export_sections: dict[str, Callable] = {}
_erase_guards: dict[str, Callable] = {}
_erase_steps: dict[str, Callable] = {}


def register_export_section(name: str, fn: Callable) -> None:
    _export_sections[name] = fn


def export_sections() -> list[tuple[str, Callable]]:
    return [(name, _export_sections[name]) for name in sorted(_export_sections)]


def register_erase_guard(name: str, fn: Callable) -> None:
    _erase_guards[name] = fn


def erase_guards() -> list[tuple[str, Callable]]:
    return [(name, _erase_guards[name]) for name in sorted(_erase_guards)]


def register_erase_step(name: str, fn: Callable) -> None:
    _erase_steps[name] = fn


def erase_steps() -> list[tuple[str, Callable]]:
    return [(name, _erase_steps[name]) for name in sorted(_erase_steps)]


# --- The customer 360 page ----------------------------------------------------------------


@dataclass(frozen=True)
class Panel360:
    """A block of the admin's customer 360 page: `template` is rendered with the page's
    context plus whatever `context_fn(customer, request)` returns (a dict). Lower `order`
    renders first."""

    name: str
    template: str
    context_fn: Callable
    title: str = ""
    order: int = 100


_panels_360: dict[str, Panel360] = {}

# Slots the 360 page reserves for parts of Omni that register their panel later; an empty
# slot renders as a marked placeholder so a clerk knows what will appear there.
PANEL_SLOTS_360 = {
    "loyalty": "Loyalty balance and tier",
    "metrics": "Metrics and lifecycle stage",
    "orders": "Orders and returns across channels",
    "carts": "Open carts",
    "cases": "Support cases",
    "timeline": "Timeline",
}


def register_360_panel(
    name: str, template: str, context_fn: Callable, *, title: str = "", order: int = 100
) -> None:
    _panels_360[name] = Panel360(name, template, context_fn, title or name.title(), order)


def panels_360() -> list[Panel360]:
    return sorted(_panels_360.values(), key=lambda panel: (panel.order, panel.name))


def rows_participant(
    name: str, model, field: str = "customer", after=None, keep=None
) -> MergeParticipant:
    """A participant for a model whose rows simply point at a customer: merge re-points
    the merged-away customer's rows at the survivor and records their ids; unmerge points
    exactly those rows back (those still on the survivor). `keep(source, target)` is a
    filter expression for rows that must stay behind (e.g. ones the survivor already has
    an equal of); `after(source, target)` runs after either way (e.g. to recompute
    something derived from the rows)."""

    def move(source, target) -> dict:
        rows = model.objects.filter(**{field: source})
        if keep is not None:
            rows = rows.exclude(keep(source, target))
        ids = sorted(rows.values_list("pk", flat=True))
        model.objects.filter(pk__in=ids).update(**{field: target})
        if after:
            after(source, target)
        return {"ids": ids}

    def move_back(record: dict, source, target) -> None:
        model.objects.filter(pk__in=record.get("ids", []), **{field: target}).update(
            **{field: source}
        )
        if after:
            after(source, target)

    return MergeParticipant(name=name, move=move, move_back=move_back)
