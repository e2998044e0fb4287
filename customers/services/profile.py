"""Preferences and addresses.

Rules kept here:
- A customer has at most one default address per kind (billing, shipping): a partial
  unique constraint; making one the default clears the other in the same transaction.
- Quiet hours default to 21:00–08:00 in the customer's own time zone.
"""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from django.db import transaction

from customers.models import Address, Customer, Preferences
from customers.services.identity import follow_merges, lock_live_customer, normalise_phone
from omni import audit
from omni.errors import BadRequest

PREFERENCE_FIELDS = (
    "email_frequency",
    "preferred_channel",
    "quiet_hours_start",
    "quiet_hours_end",
    "interests",
    "categories",
    "language",
)
ADDRESS_FIELDS = (
    "kind",
    "is_default",
    "recipient",
    "line1",
    "line2",
    "city",
    "region",
    "postcode",
    "country",
    "phone",
)


def preferences_of(customer: Customer) -> Preferences:
    """The stored preferences, or unsaved defaults when the customer gave none."""
    return Preferences.objects.filter(customer=customer).first() or Preferences(customer=customer)


def update_preferences(*, customer: Customer, **changes: Any) -> Preferences:
    """Set some preferences; the others keep their value (or default)."""
    unknown = sorted(set(changes) - set(PREFERENCE_FIELDS))
    if unknown:
        raise BadRequest("Unknown preference fields.", fields=unknown)
    with transaction.atomic():
        customer = lock_live_customer(customer)
        preferences, _ = Preferences.objects.get_or_create(customer=customer)
        before = audit.snapshot(preferences, changes)
        for name, value in changes.items():
            setattr(preferences, name, value)
        preferences.save()
        audit.record(
            "customer.preferences_updated",
            customer,
            before=before,
            after=audit.snapshot(preferences, changes),
            customer=customer,
        )
    return preferences


def quiet_hours(customer: Customer) -> tuple[datetime.time, datetime.time, str]:
    """(start, end, time zone) in which nothing may be sent to this customer."""
    preferences = preferences_of(customer)
    return preferences.quiet_hours_start, preferences.quiet_hours_end, customer.time_zone


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def in_quiet_hours(customer: Customer, moment: datetime.datetime) -> bool:
    """Is `moment` (aware) inside the customer's quiet hours, in their own time zone?
    Quiet hours may wrap midnight (21:00–08:00); equal start and end means none."""
    start, end, zone = quiet_hours(customer)
    local = moment.astimezone(_zone(zone)).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_send_time(customer: Customer, moment: datetime.datetime) -> datetime.datetime:
    """`moment` itself, or the end of the quiet hours it falls in (aware, UTC)."""
    if not in_quiet_hours(customer, moment):
        return moment
    _start, end, zone = quiet_hours(customer)
    tz = _zone(zone)
    local = moment.astimezone(tz)
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += datetime.timedelta(days=1)
    return candidate.astimezone(datetime.UTC)


def _clean_address(fields: dict[str, Any], region: str | None) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(ADDRESS_FIELDS))
    if unknown:
        raise BadRequest("Unknown address fields.", fields=unknown)
    cleaned = dict(fields)
    if cleaned.get("country"):
        cleaned["country"] = cleaned["country"].upper()
    if cleaned.get("phone"):
        cleaned["phone"] = normalise_phone(
            cleaned["phone"], region=cleaned.get("country") or region
        )
    return cleaned


def _clear_other_defaults(address: Address) -> None:
    Address.objects.filter(
        customer_id=address.customer_id, kind=address.kind, is_default=True
    ).exclude(pk=address.pk).update(is_default=False)


def add_address(*, customer: Customer, **fields: Any) -> Address:
    """Add an address; the first of its kind becomes the default."""
    cleaned = _clean_address(fields, follow_merges(customer).country)
    with transaction.atomic():
        # The lock also makes two concurrent "first address" calls agree on the default.
        customer = lock_live_customer(customer)
        has_default = Address.objects.filter(
            customer=customer, kind=cleaned.get("kind"), is_default=True
        ).exists()
        if not has_default:
            cleaned["is_default"] = True
        address = Address(customer=customer, **cleaned)
        address.full_clean(exclude=["customer"])
        if address.is_default:
            Address.objects.filter(customer=customer, kind=address.kind, is_default=True).update(
                is_default=False
            )
        address.save()
    return address


def update_address(*, address: Address, **fields: Any) -> Address:
    cleaned = _clean_address(fields, address.customer.country)
    with transaction.atomic():
        address = Address.objects.select_for_update().get(pk=address.pk)
        for name, value in cleaned.items():
            setattr(address, name, value)
        address.full_clean(exclude=["customer"])
        if address.is_default:
            _clear_other_defaults(address)
        address.save()
    return address


def delete_address(*, address: Address) -> None:
    with transaction.atomic():
        was_default = address.is_default
        address.delete()
        if was_default:
            # The newest remaining address of that kind takes over as default.
            heir = (
                Address.objects.filter(customer_id=address.customer_id, kind=address.kind)
                .order_by("-created_at")
                .first()
            )
            if heir is not None:
                Address.objects.filter(pk=heir.pk).update(is_default=True)
