"""Privacy: everything about a customer as one document, and erasure.

Rules kept here:
- Export gathers this app's data and every section registered with
  `hooks.register_export_section`; each export is audited (`PrivacyRequest`).
- Erase is refused (409 `erase_refused`) if any guard registered with
  `hooks.register_erase_guard` gives a reason (e.g. an open order). Otherwise personal
  data is anonymised in one transaction: profile blanked, identities, addresses and
  preferences deleted, consent evidence and IP addresses stripped (the choices stay, as
  proof we honoured them), every registered erase step run, and an audit row written.
  The customer row and its public ID stay, so order totals in the books still add up.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from customers import hooks
from customers.errors import CustomerErased, EraseRefused
from customers.models import (
    Address,
    ConsentEvent,
    ConsentState,
    ConsentStatus,
    Customer,
    CustomerMerge,
    Identity,
    Preferences,
    PrivacyRequest,
)
from customers.services.consent import current_consent, record_consent
from customers.services.identity import follow_merges
from customers.services.profile import preferences_of
from omni import audit


def _iso(value):
    return value.isoformat() if value is not None else None


def build_export(customer: Customer) -> dict[str, Any]:
    preferences = preferences_of(customer)
    document: dict[str, Any] = {
        "customer": {
            "public_id": str(customer.public_id),
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "birth_date": _iso(customer.birth_date),
            "gender": customer.gender,
            "language": customer.language,
            "time_zone": customer.time_zone,
            "city": customer.city,
            "region": customer.region,
            "postcode": customer.postcode,
            "country": customer.country,
            "preferred_store": customer.preferred_store.code if customer.preferred_store else None,
            "acquisition_channel": customer.acquisition_channel,
            "first_seen_channel": customer.first_seen_channel,
            "created_at": _iso(customer.created_at),
            "erased_at": _iso(customer.erased_at),
        },
        "merged_from": [
            str(public_id)
            for public_id in Customer.objects.filter(merged_into=customer).values_list(
                "public_id", flat=True
            )
        ],
        "identities": [
            {
                "kind": identity.kind,
                "namespace": identity.namespace,
                "value": identity.value,
                "verified": identity.verified,
                "source_channel": identity.source_channel,
                "created_at": _iso(identity.created_at),
            }
            for identity in customer.identities.all()
        ],
        "consent": {
            channel: {"status": state.status, "changed_at": _iso(state.changed_at)}
            for channel, state in current_consent(customer).items()
        },
        "consent_history": [
            {
                "channel": event.channel,
                "status": event.status,
                "occurred_at": _iso(event.occurred_at),
                "source_channel": event.source_channel,
                "location": event.source_location.code if event.source_location else None,
                "form": event.form,
                "campaign": event.campaign_ref,
                "evidence": event.evidence,
                "ip_address": event.ip_address,
            }
            for event in customer.consent_events.select_related("source_location")
        ],
        "preferences": {
            "email_frequency": preferences.email_frequency,
            "preferred_channel": preferences.preferred_channel,
            "quiet_hours_start": preferences.quiet_hours_start.isoformat(),
            "quiet_hours_end": preferences.quiet_hours_end.isoformat(),
            "interests": preferences.interests,
            "categories": preferences.categories,
            "language": preferences.language,
        },
        "addresses": [
            {
                "kind": address.kind,
                "is_default": address.is_default,
                "recipient": address.recipient,
                "line1": address.line1,
                "line2": address.line2,
                "city": address.city,
                "region": address.region,
                "postcode": address.postcode,
                "country": address.country,
                "phone": address.phone,
            }
            for address in customer.addresses.all()
        ],
    }
    for name, section in hooks.export_sections():
        document[name] = section(customer)
    return document


def export_customer(*, customer: Customer, user=None, token=None, reason: str = "") -> dict:
    """Everything Omni holds about a customer, as one JSON document (audited)."""
    customer = follow_merges(customer)
    with transaction.atomic():
        document = build_export(customer)
        PrivacyRequest.objects.create(
            customer=customer,
            kind=PrivacyRequest.Kind.EXPORT,
            reason=reason,
            requested_by=user if getattr(user, "pk", None) else None,
            requested_by_token=token,
            details={"sections": sorted(document)},
        )
        audit.record(
            "customer.exported",
            customer,
            actor=audit.by(user, token),
            after={"sections": sorted(document)},
            customer=customer,
        )
    document["exported_at"] = timezone.now().isoformat()
    return document


def erase_customer(*, customer: Customer, user=None, token=None, reason: str = "") -> Customer:
    """Anonymise a customer (see the module docstring); refused while a guard objects."""
    customer = follow_merges(customer)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.erased_at is not None:
            raise CustomerErased(customer=str(customer.public_id))
        refusals = {}
        for name, guard in hooks.erase_guards():
            refusal = guard(customer)
            if refusal:
                refusals[name] = str(refusal)
        if refusals:
            raise EraseRefused(
                "The customer cannot be erased yet: " + "; ".join(refusals.values()),
                refused_by=refusals,
            )
        # Merged-away customers were the same person; erase their leftovers too.
        people = [customer, *Customer.objects.filter(merged_into=customer)]
        counts = {
            "identities": Identity.objects.filter(customer__in=people).delete()[0],
            "addresses": Address.objects.filter(customer__in=people).delete()[0],
            "preferences": Preferences.objects.filter(customer__in=people).delete()[0],
        }
        # Consent choices stay (proof we honoured an opt-out); what identifies the person
        # inside them goes. This is the one edit the append-only history allows.
        counts["consent_events"] = ConsentEvent.objects.filter(customer__in=people).update(
            evidence="", ip_address=None
        )
        for state in ConsentState.objects.filter(
            customer__in=people, status=ConsentStatus.GRANTED
        ).select_related("customer"):
            record_consent(
                customer=state.customer,
                channel=state.channel,
                status=ConsentStatus.WITHDRAWN,
                form="erasure",
                staff=user,
                token=token,
            )
        now = timezone.now()
        Customer.objects.filter(pk__in=[person.pk for person in people]).update(
            first_name="",
            last_name="",
            birth_date=None,
            gender="",
            city="",
            region="",
            postcode="",
            erased_at=now,
            updated_at=now,
        )
        for _name, step in hooks.erase_steps():
            step(customer)
        CustomerMerge.objects.filter(merged__in=people[1:]).update(reason="", unmerge_reason="")
        PrivacyRequest.objects.create(
            customer=customer,
            kind=PrivacyRequest.Kind.ERASE,
            reason=reason,
            requested_by=user if getattr(user, "pk", None) else None,
            requested_by_token=token,
            details=counts,
        )
        audit.record(
            "customer.erased",
            customer,
            actor=audit.by(user, token),
            before={"erased_at": None},
            after={"erased_at": now, **counts},
            customer=customer,
        )
        customer.refresh_from_db()
    return customer
