"""One customer, one ID: normalising identities, resolve-or-create and lookup.

Rules kept here:
- Identities are stored normalised: emails trimmed and lower-cased, phones in E.164, card
  numbers without spaces or dashes, device ids lower-cased. The same person typed twice is
  the same (kind, namespace, value) and so the same row (a unique constraint).
- Resolve-or-create never merges. When the identities given point to two customers, the
  best match wins (by `KIND_STRENGTH`), the identities of the other customer stay where
  they are, and the pair is recorded as a `DuplicateSuggestion` for staff to merge.
- It is race-free: identities are inserted with `ON CONFLICT DO NOTHING` and then read
  back; a request that lost a race rolls back its savepoint (the customer it was creating
  included) and resolves again, so concurrent calls converge on one customer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from customers import hooks
from customers.errors import (
    CustomerErased,
    CustomerNotFound,
    IdentityTaken,
    InvalidEmail,
    InvalidIdentity,
    InvalidPhone,
    NoIdentities,
    ResolveContention,
)
from customers.models import Customer, DuplicateSuggestion, Identity
from omni import audit
from omni.errors import BadRequest

Kind = Identity.Kind

# Which identity decides when the ones given point to different customers: the ones a
# person holds privately and deliberately beat shared or reassigned ones (a family shares
# a phone, a device changes hands, a POS reference is typed by a clerk).
KIND_STRENGTH = [
    Kind.LOYALTY_CARD,
    Kind.WEB_ACCOUNT,
    Kind.EMAIL,
    Kind.PHONE,
    Kind.EXTERNAL,
    Kind.POS_REF,
    Kind.APP_INSTALL,
]

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "language",
    "time_zone",
    "city",
    "region",
    "postcode",
    "country",
    "preferred_store",
)

# Recorded in the audit log as changed, without their values (an erasure must not leave
# them behind in the trail).
PERSONAL_FIELDS = frozenset({"first_name", "last_name", "birth_date", "gender", "city", "postcode"})

_CARD = re.compile(r"^[A-Z0-9]{4,64}$")
_NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_RESOLVE_ATTEMPTS = 5


@dataclass(frozen=True)
class IdentityKey:
    """A normalised identity: what is stored and looked up."""

    kind: str
    value: str
    namespace: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "namespace": self.namespace, "value": self.value}


@dataclass
class Resolution:
    customer: Customer
    created: bool
    attached: list[Identity] = field(default_factory=list)
    # Identities given that belong to another customer: left there, reported here.
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[DuplicateSuggestion] = field(default_factory=list)


class _LostRace(Exception):
    """Another transaction attached one of our identities first; resolve again."""


# --- Normalisation --------------------------------------------------------------------------


def normalise_email(raw: str) -> str:
    """Trimmed, lower-cased and syntactically valid, or `invalid_email`."""
    email = (raw or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidEmail(value=raw) from None
    return email


def normalise_phone(raw: str, *, region: str | None = None) -> str:
    """E.164 (`+351912345678`). A number without a country code needs `region` (the
    location's country); an unparseable or impossible number is `invalid_phone`."""
    text = (raw or "").strip()
    default_region = (region or "").upper() or None
    if default_region is None and text.startswith("00"):
        # 00 is the international prefix across Europe (and the ITU's recommendation).
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(value=raw, region=default_region) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(value=raw, region=default_region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_identity(
    kind: str, value: str, *, namespace: str = "", region: str | None = None
) -> IdentityKey:
    """One identity as stored. `namespace` is required for (and only kept on) external ids,
    where it names the integration that issued them (e.g. "shopify")."""
    if kind not in Kind.values:
        raise InvalidIdentity("Unknown identity kind.", kind=kind, known=list(Kind.values))
    value = value if isinstance(value, str) else str(value or "")
    if kind == Kind.EMAIL:
        return IdentityKey(kind, normalise_email(value))
    if kind == Kind.PHONE:
        return IdentityKey(kind, normalise_phone(value, region=region))
    text = value.strip()
    if not text or len(text) > 255:
        raise InvalidIdentity(f"A {kind} must be 1 to 255 characters.", kind=kind)
    if kind == Kind.LOYALTY_CARD:
        card = re.sub(r"[\s-]", "", text).upper()
        if not _CARD.match(card):
            raise InvalidIdentity(
                "A loyalty card number is 4 to 64 letters or digits.", kind=kind, value=value
            )
        return IdentityKey(kind, card)
    if kind == Kind.APP_INSTALL:
        return IdentityKey(kind, text.lower())
    if kind == Kind.EXTERNAL:
        ns = (namespace or "").strip().lower()
        if not _NAMESPACE.match(ns):
            raise InvalidIdentity(
                "An external id needs a namespace naming its integration (e.g. 'shopify').",
                kind=kind,
                namespace=namespace,
            )
        return IdentityKey(kind, text, ns)
    # Web accounts and POS references are opaque ids issued by one system each.
    return IdentityKey(kind, text)


def normalise_identities(
    identities: Iterable[Mapping[str, Any]], *, region: str | None = None
) -> list[IdentityKey]:
    keys: list[IdentityKey] = []
    for item in identities:
        key = normalise_identity(
            item.get("kind", ""),
            item.get("value", ""),
            namespace=item.get("namespace", "") or "",
            region=region,
        )
        if key not in keys:
            keys.append(key)
    return keys


def _region_for(region: str | None, location, profile: Mapping[str, Any] | None) -> str | None:
    if region:
        return region
    if location is not None and getattr(location, "country", ""):
        return location.country
    if profile and profile.get("country"):
        return profile["country"]
    return None


# --- Lookup ---------------------------------------------------------------------------------


def _identity_q(keys: Iterable[IdentityKey]) -> Q:
    query = Q(pk__in=[])
    for key in keys:
        query |= Q(kind=key.kind, namespace=key.namespace, value=key.value)
    return query


def follow_merges(customer: Customer) -> Customer:
    """The customer a (possibly merged-away) customer now lives on."""
    seen = {customer.pk}
    while customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
        if customer.pk in seen:  # a cycle would be a bug; stop rather than loop forever
            break
        seen.add(customer.pk)
    return customer


def lock_live_customer(customer: Customer) -> Customer:
    """Lock the customer that now stands for `customer` (following merges) for the rest of
    the transaction. Writers that attach rows to a customer take this lock, and a merge
    locks both customers first, so no row can land on a customer while it is merged away.
    FOR NO KEY UPDATE: other apps inserting rows that point at the customer still pass."""
    for _attempt in range(5):
        live = follow_merges(customer)
        locked = Customer.objects.select_for_update(no_key=True, of=("self",)).get(pk=live.pk)
        if locked.merged_into_id is None:
            return locked
        customer = locked  # merged while we waited for the lock; follow it
    raise ResolveContention()


def resolve_customer(public_id: uuid.UUID | str) -> Customer:
    """The live customer behind a public ID, following merges: a merged-away ID keeps
    resolving to its survivor."""
    try:
        wanted = uuid.UUID(str(public_id))
    except ValueError:
        raise CustomerNotFound(public_id=str(public_id)) from None
    customer = Customer.objects.filter(public_id=wanted).first()
    if customer is None:
        raise CustomerNotFound(public_id=str(public_id))
    return follow_merges(customer)


def lookup_customer(
    *, kind: str, value: str, namespace: str = "", region: str | None = None
) -> Customer:
    """The customer an identity belongs to, as typed at a till (any phone format, any case)."""
    key = normalise_identity(kind, value, namespace=namespace, region=region)
    identity = (
        Identity.objects.filter(kind=key.kind, namespace=key.namespace, value=key.value)
        .select_related("customer")
        .first()
    )
    if identity is None:
        raise CustomerNotFound(**key.as_dict())
    return follow_merges(identity.customer)


# --- Resolve-or-create ----------------------------------------------------------------------


def _owners(keys: list[IdentityKey]) -> dict[IdentityKey, int]:
    rows = Identity.objects.filter(_identity_q(keys)).values_list(
        "kind", "namespace", "value", "customer_id"
    )
    return {IdentityKey(kind, value, ns): owner for kind, ns, value, owner in rows}


def _strongest(keys: Iterable[IdentityKey]) -> IdentityKey:
    return min(keys, key=lambda key: KIND_STRENGTH.index(key.kind))


def _insert_identities(
    customer: Customer, keys: list[IdentityKey], channel: str
) -> list[IdentityKey]:
    """Insert the keys for the customer; return the ones another customer holds."""
    Identity.objects.bulk_create(
        [
            Identity(
                customer=customer,
                kind=key.kind,
                namespace=key.namespace,
                value=key.value,
                source_channel=channel,
            )
            for key in keys
        ],
        ignore_conflicts=True,
    )
    # ON CONFLICT DO NOTHING waited for any concurrent insert of the same key to finish,
    # so this read (a fresh snapshot under READ COMMITTED) sees who won.
    owners = _owners(keys)
    return [key for key in keys if owners.get(key) != customer.pk]


def _clean_profile(profile: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        name: value
        for name, value in (profile or {}).items()
        if name in PROFILE_FIELDS and value not in (None, "")
    }


def _notify_listeners(identities: list[Identity]) -> None:
    for identity in identities:
        for listener in hooks.identity_listeners():
            listener(identity)


def record_duplicate_suggestion(
    *, first: Customer, second: Customer, reason: str
) -> DuplicateSuggestion:
    """Note that two customers look like one person (once per pair)."""
    low, high = sorted([first, second], key=lambda customer: customer.pk)
    DuplicateSuggestion.objects.bulk_create(
        [DuplicateSuggestion(first=low, second=high, reason=reason[:200])],
        ignore_conflicts=True,
    )
    return DuplicateSuggestion.objects.get(first=low, second=high)


def _resolve_once(
    keys: list[IdentityKey], profile: dict[str, Any], channel: str, location
) -> Resolution:
    owners = _owners(keys)
    if not owners:
        customer = Customer.objects.create(
            **profile,
            acquisition_channel=channel,
            first_seen_channel=channel,
            first_seen_location=location,
        )
        if _insert_identities(customer, keys, channel):
            raise _LostRace
        attached = list(Identity.objects.filter(customer=customer))
        _notify_listeners(attached)
        return Resolution(customer=customer, created=True, attached=attached)

    best_key = _strongest(owners)
    customer = follow_merges(Customer.objects.get(pk=owners[best_key]))
    new_keys = [key for key in keys if key not in owners]
    if new_keys or any(getattr(customer, name) in (None, "") for name in profile):
        customer = lock_live_customer(customer)
    if new_keys and _insert_identities(customer, new_keys, channel):
        raise _LostRace
    attached = list(Identity.objects.filter(_identity_q(new_keys), customer=customer))
    _notify_listeners(attached)

    blanks = {
        name: value for name, value in profile.items() if getattr(customer, name) in (None, "")
    }
    if blanks:
        for name, value in blanks.items():
            setattr(customer, name, value)
        customer.save(update_fields=[*blanks, "updated_at"])

    resolution = Resolution(customer=customer, created=False, attached=attached)
    others: dict[int, list[IdentityKey]] = {}
    for key, owner in owners.items():
        if owner != customer.pk:
            others.setdefault(owner, []).append(key)
    for owner_id, owned in sorted(others.items()):
        other = follow_merges(Customer.objects.get(pk=owner_id))
        if other.pk == customer.pk:
            continue
        resolution.conflicts.extend(
            {**key.as_dict(), "customer": str(other.public_id)} for key in owned
        )
        reason = "given together: " + ", ".join(
            sorted({best_key.kind, *(key.kind for key in owned)})
        )
        resolution.suggestions.append(
            record_duplicate_suggestion(first=customer, second=other, reason=reason)
        )
    return resolution


def resolve_or_create(
    *,
    identities: Iterable[Mapping[str, Any]],
    profile: Mapping[str, Any] | None = None,
    channel: str = "",
    location=None,
    region: str | None = None,
) -> Resolution:
    """The one customer these identities point to, created if none does; identities not yet
    known are attached to it. Profile fields fill blanks only (they never overwrite what the
    customer already told us). Identities of a different customer are not moved: see the
    module docstring. Invalid input raises before anything is written."""
    profile = _clean_profile(profile)
    keys = normalise_identities(identities, region=_region_for(region, location, profile))
    if not keys:
        raise NoIdentities()
    for _attempt in range(_RESOLVE_ATTEMPTS):
        try:
            with transaction.atomic():
                return _resolve_once(keys, profile, channel, location)
        except _LostRace:
            continue
    raise ResolveContention()


def attach_identity(
    *,
    customer: Customer,
    kind: str,
    value: str,
    namespace: str = "",
    region: str | None = None,
    verified: bool = False,
    source_channel: str = "",
) -> Identity:
    """Give a customer one more identity; refused with 409 if another customer has it."""
    key = normalise_identity(kind, value, namespace=namespace, region=region or customer.country)
    with transaction.atomic():
        customer = lock_live_customer(customer)
        if customer.erased_at is not None:
            raise CustomerErased(customer=str(customer.public_id))
        taken = _insert_identities(customer, [key], source_channel)
        identity = Identity.objects.get(kind=key.kind, namespace=key.namespace, value=key.value)
        if taken:
            raise IdentityTaken(
                **key.as_dict(),
                customer=str(identity.customer.public_id),
            )
        if verified and not identity.verified:
            Identity.objects.filter(pk=identity.pk).update(verified=True)
            identity.verified = True
        _notify_listeners([identity])
    return identity


def dismiss_duplicate(*, first: Customer, second: Customer) -> DuplicateSuggestion:
    """Staff looked: not the same person. The pair is no longer suggested."""
    with transaction.atomic():
        suggestion = record_duplicate_suggestion(
            first=first, second=second, reason="dismissed by staff"
        )
        DuplicateSuggestion.objects.filter(pk=suggestion.pk).update(
            status=DuplicateSuggestion.Status.DISMISSED
        )
        suggestion.status = DuplicateSuggestion.Status.DISMISSED
    return suggestion


def detach_identity(*, identity: Identity) -> None:
    """Take an identity off its customer (a number given up, a card lost). The customer
    keeps everything else; the value becomes free for whoever holds it next."""
    Identity.objects.filter(pk=identity.pk).delete()


def update_profile(*, customer: Customer, **changes: Any) -> Customer:
    """Change profile fields (only those in `PROFILE_FIELDS`); refused for erased customers."""
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise BadRequest("Unknown profile fields.", fields=unknown)
    with transaction.atomic():
        customer = lock_live_customer(customer)
        if customer.erased_at is not None:
            raise CustomerErased(customer=str(customer.public_id))
        before = audit.snapshot(customer, changes)
        for name, value in changes.items():
            setattr(customer, name, value)
        customer.save(update_fields=[*changes, "updated_at"])
        audit.record(
            "customer.profile_updated",
            customer,
            before=before,
            after=audit.snapshot(customer, changes),
            customer=customer,
            redact=PERSONAL_FIELDS,
        )
    return customer


def record_detected_duplicates(*, limit: int = 10_000) -> int:
    """Store the pairs found in the data as open suggestions (nightly), so the review list
    and the admin read stored rows; pairs already recorded, merged or dismissed stay as
    they are. Returns how many were new."""
    from customers.selectors import detected_duplicate_pairs

    pairs = detected_duplicate_pairs(limit=limit)
    with transaction.atomic():
        before = DuplicateSuggestion.objects.count()
        DuplicateSuggestion.objects.bulk_create(
            [
                DuplicateSuggestion(
                    first_id=pair.first_id, second_id=pair.second_id, reason=pair.reason[:200]
                )
                for pair in pairs
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        return DuplicateSuggestion.objects.count() - before
