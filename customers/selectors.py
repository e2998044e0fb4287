"""Reads that are more than one filter: finding customers by what a clerk types, and
duplicate suggestions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from customers.models import Customer, DuplicateSuggestion, Identity
from customers.services.identity import IdentityKey, follow_merges, normalise_identity
from omni.errors import DomainError

# Countries of the stores the search tries for a phone typed without its country code.
SEARCH_PHONE_REGIONS = ("PT", "ES", "DE", "GB")


def identity_keys_for_term(term: str, regions=SEARCH_PHONE_REGIONS) -> list[IdentityKey]:
    """Every identity a typed search term could be: an email in any case, a phone in any
    format (with or without country code), a card number with spaces, a raw id."""
    term = term.strip()
    keys: list[IdentityKey] = []

    def add(kind: str, value: str, region: str | None = None) -> None:
        try:
            key = normalise_identity(kind, value, region=region)
        except DomainError:
            return
        if key not in keys:
            keys.append(key)

    if "@" in term:
        add(Identity.Kind.EMAIL, term)
    if sum(char.isdigit() for char in term) >= 6:
        add(Identity.Kind.PHONE, term)
        for region in regions:
            add(Identity.Kind.PHONE, term, region)
    for kind in (
        Identity.Kind.LOYALTY_CARD,
        Identity.Kind.WEB_ACCOUNT,
        Identity.Kind.APP_INSTALL,
        Identity.Kind.POS_REF,
    ):
        add(kind, term)
    return keys


def customers_by_identity_term(term: str, *, region: str | None = None) -> list[Customer]:
    """The customers whose identity matches what was typed, whatever its kind (a POS
    field that takes an email, a phone or a card number). Merges are followed."""
    regions = (region.upper(),) if region else SEARCH_PHONE_REGIONS
    query = Q(pk__in=[])
    for key in identity_keys_for_term(term, regions=regions):
        query |= Q(kind=key.kind, namespace=key.namespace, value=key.value)
    found: dict[int, Customer] = {}
    for identity in Identity.objects.filter(query).select_related("customer"):
        customer = follow_merges(identity.customer)
        found[customer.pk] = customer
    return list(found.values())


def search_customers(term: str, queryset: QuerySet | None = None) -> QuerySet:
    """Customers matching a term by any identity or by name ("ana silva" finds Ana Silva)."""
    queryset = queryset if queryset is not None else Customer.objects.all()
    term = term.strip()
    if not term:
        return queryset
    identity_q = Q(pk__in=[])
    for key in identity_keys_for_term(term):
        identity_q |= Q(kind=key.kind, namespace=key.namespace, value=key.value)
    identity_q |= Q(kind=Identity.Kind.EXTERNAL, value=term)
    owner_ids = Identity.objects.filter(identity_q).values("customer_id")
    name_q = Q()
    for word in term.split():
        name_q &= Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
    return queryset.filter(Q(pk__in=owner_ids) | name_q)


@dataclass(frozen=True)
class DuplicatePair:
    first_id: int
    second_id: int
    reason: str
    suggestion_id: int | None = None


# An email or phone someone else holds as another kind (a web account id that is an
# email, a POS reference that is a phone number): each candidate is one probe of the
# (kind, namespace, value) unique index.
_SAME_VALUE_ACROSS_KINDS = """
SELECT LEAST(a.customer_id, b.customer_id), GREATEST(a.customer_id, b.customer_id),
       'same ' || a.kind || ' given as ' || replace(b.kind, '_', ' ')
FROM customers_identity b
JOIN customers_identity a
  ON a.kind = CASE WHEN b.value LIKE '%%@%%' THEN 'email' ELSE 'phone' END
 AND a.namespace = ''
 AND a.value = CASE WHEN b.value LIKE '%%@%%' THEN lower(b.value) ELSE b.value END
 AND a.customer_id <> b.customer_id
WHERE b.kind NOT IN ('email', 'phone') AND (b.value LIKE '%%@%%' OR b.value LIKE '+%%')
"""

# One pass grouping live customers by name and postcode; only groups of two or more
# become pairs (the first of the group with each of the others).
_SAME_NAME_AND_POSTCODE = """
SELECT ids[1], other, 'same name and postcode'
FROM (
    SELECT array_agg(id ORDER BY id) AS ids
    FROM customers_customer
    WHERE postcode <> '' AND last_name <> '' AND merged_into_id IS NULL AND erased_at IS NULL
    GROUP BY lower(first_name), lower(last_name), replace(upper(postcode), ' ', '')
    HAVING count(*) > 1
) AS groups, unnest(ids[2:]) AS other
"""


def detected_duplicate_pairs(*, limit: int) -> list[DuplicatePair]:
    """Pairs found in the data itself (same email or phone as another kind, same name and
    postcode), whatever staff decided about them."""
    pairs: dict[tuple[int, int], DuplicatePair] = {}
    with connection.cursor() as cursor:
        for sql in (_SAME_VALUE_ACROSS_KINDS, _SAME_NAME_AND_POSTCODE):
            cursor.execute(f"{sql} LIMIT %s", [limit])  # noqa: S608 - constant SQL
            for first, second, reason in cursor.fetchall():
                pairs.setdefault((first, second), DuplicatePair(first, second, reason))
    return list(pairs.values())


def duplicate_suggestions(*, limit: int = 200) -> list[DuplicatePair]:
    """Pairs that look like one person: recorded suggestions still open, the same email or
    phone held as another kind by someone else, and the same name at the same postcode.
    Dismissed and merged pairs are left out."""
    pairs: dict[tuple[int, int], DuplicatePair] = {}
    closed = set()
    for suggestion in DuplicateSuggestion.objects.order_by("-created_at"):
        key = (suggestion.first_id, suggestion.second_id)
        if suggestion.status != DuplicateSuggestion.Status.OPEN:
            closed.add(key)
            continue
        pairs[key] = DuplicatePair(*key, suggestion.reason, suggestion.pk)
    for pair in detected_duplicate_pairs(limit=limit):
        key = (pair.first_id, pair.second_id)
        if key not in closed:
            pairs.setdefault(key, pair)
    return list(pairs.values())[:limit]
