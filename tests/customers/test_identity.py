"""Identities: normalisation of every kind, resolve-or-create, lookup."""

import threading

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from customers import hooks
from customers.errors import CustomerNotFound, InvalidEmail, InvalidIdentity, InvalidPhone
from customers.models import Customer, DuplicateSuggestion, Identity
from customers.services.identity import (
    lookup_customer,
    normalise_identity,
    resolve_customer,
    resolve_or_create,
)
from tests.customers.factories import CustomerFactory, IdentityFactory, PhoneFactory
from tests.factories import LocationFactory


def email(value):
    return {"kind": "email", "value": value}


def phone(value):
    return {"kind": "phone", "value": value}


@pytest.mark.parametrize(
    ("kind", "raw", "namespace", "stored"),
    [
        ("email", "  Ana.Silva@Example.COM ", "", "ana.silva@example.com"),
        ("phone", "+351 912 345 678", "", "+351912345678"),
        ("phone", "00351912345678", "", "+351912345678"),
        ("loyalty_card", "omn 1234-5678", "", "OMN12345678"),
        ("web_account", " acct-42 ", "", "acct-42"),
        (
            "app_install",
            "9F1C2B7E-0D6A-4E7B-9C1D-2A3B4C5D6E7F",
            "",
            "9f1c2b7e-0d6a-4e7b-9c1d-2a3b4c5d6e7f",
        ),
        ("pos_ref", "LIS-000123", "", "LIS-000123"),
        ("external", "cus_98765", "Shopify", "cus_98765"),
    ],
)
def test_every_identity_kind_is_stored_normalised(kind, raw, namespace, stored):
    key = normalise_identity(kind, raw, namespace=namespace, region="PT")
    assert key.value == stored
    assert key.namespace == ("shopify" if kind == "external" else "")


def test_a_phone_without_country_code_takes_the_region_given():
    assert normalise_identity("phone", "030 1234567", region="DE").value == "+49301234567"
    assert normalise_identity("phone", "612 345 678", region="ES").value == "+34612345678"


@pytest.mark.parametrize(
    ("kind", "raw", "error"),
    [
        ("email", "ana@", InvalidEmail),
        ("email", "not an email", InvalidEmail),
        ("phone", "banana", InvalidPhone),
        ("phone", "912345678", InvalidPhone),  # no country code and no region
        ("phone", "+351 12", InvalidPhone),
        ("loyalty_card", "12", InvalidIdentity),
        ("external", "cus_1", InvalidIdentity),  # no namespace
        ("fax", "123", InvalidIdentity),
    ],
)
def test_invalid_identities_are_refused_with_their_own_code(kind, raw, error):
    with pytest.raises(error):
        normalise_identity(kind, raw)


@pytest.mark.django_db
def test_a_new_email_creates_one_customer_with_the_profile_given(lisbon):
    resolution = resolve_or_create(
        identities=[email("Ana@Example.com")],
        profile={"first_name": "Ana", "last_name": "Silva", "unknown_field": "x"},
        channel="store",
        location=lisbon,
    )
    assert resolution.created
    customer = resolution.customer
    assert (customer.first_name, customer.last_name) == ("Ana", "Silva")
    assert customer.first_seen_channel == "store"
    assert customer.first_seen_location == lisbon
    assert [str(identity) for identity in customer.identities.all()] == ["email:ana@example.com"]


@pytest.mark.django_db
def test_a_guest_who_later_gives_a_phone_at_the_till_lands_on_the_same_customer():
    lisbon = LocationFactory(code="lisbon-x", country="PT")
    guest = resolve_or_create(identities=[email("ana@example.com")]).customer
    at_till = resolve_or_create(
        identities=[phone("912 345 678"), email("ANA@example.com")], location=lisbon
    )
    assert not at_till.created
    assert at_till.customer == guest
    assert [identity.kind for identity in at_till.attached] == ["phone"]
    assert lookup_customer(kind="phone", value="+351912345678") == guest
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_profile_fields_fill_blanks_but_never_overwrite():
    customer = resolve_or_create(
        identities=[email("ana@example.com")], profile={"first_name": "Ana"}
    ).customer
    resolve_or_create(
        identities=[email("ana@example.com")],
        profile={"first_name": "Anne", "city": "Porto"},
    )
    customer.refresh_from_db()
    assert (customer.first_name, customer.city) == ("Ana", "Porto")


@pytest.mark.django_db
def test_identities_of_two_customers_are_not_merged_but_suggested():
    ana = IdentityFactory(value="ana@example.com").customer
    card_holder = IdentityFactory(kind="loyalty_card", value="OMN0001").customer
    resolution = resolve_or_create(
        identities=[email("ana@example.com"), {"kind": "loyalty_card", "value": "omn0001"}]
    )
    # The loyalty card is the stronger identity, so its holder is the match.
    assert resolution.customer == card_holder
    assert resolution.conflicts == [
        {
            "kind": "email",
            "namespace": "",
            "value": "ana@example.com",
            "customer": str(ana.public_id),
        }
    ]
    assert Identity.objects.get(value="ana@example.com").customer == ana
    suggestion = DuplicateSuggestion.objects.get()
    assert {suggestion.first, suggestion.second} == {ana, card_holder}


@pytest.mark.django_db
def test_invalid_input_in_resolve_or_create_writes_nothing():
    with pytest.raises(InvalidPhone):
        resolve_or_create(identities=[email("ana@example.com"), phone("banana")])
    with pytest.raises(InvalidEmail):
        resolve_or_create(identities=[email("ana@"), phone("+351912345678")])
    assert not Customer.objects.exists()
    assert not Identity.objects.exists()


@pytest.mark.django_db
def test_identity_listeners_hear_every_attached_identity():
    heard = []
    hooks.register_identity_listener("test-listener", heard.append)
    try:
        resolve_or_create(
            identities=[email("ana@example.com"), {"kind": "app_install", "value": "dev-1"}]
        )
    finally:
        hooks._identity_listeners.pop("test-listener")
    assert sorted(str(identity) for identity in heard) == [
        "app_install:dev-1",
        "email:ana@example.com",
    ]


@pytest.mark.django_db
def test_lookup_accepts_what_a_clerk_types_and_unknown_is_not_found():
    customer = PhoneFactory(value="+351912345678").customer
    assert lookup_customer(kind="phone", value="00351 912-345-678") == customer
    assert lookup_customer(kind="phone", value="912345678", region="PT") == customer
    with pytest.raises(CustomerNotFound):
        lookup_customer(kind="phone", value="+351912345679")


@pytest.mark.django_db
def test_a_merged_away_public_id_resolves_to_the_survivor():
    survivor = CustomerFactory()
    merged = CustomerFactory(merged_into=survivor)
    assert resolve_customer(merged.public_id) == survivor
    with pytest.raises(CustomerNotFound):
        resolve_customer("not-a-uuid")


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_calls_with_the_same_email_create_exactly_one_customer():
    barrier = threading.Barrier(20)
    results, errors = [], []

    def call(n):
        try:
            barrier.wait()
            resolution = resolve_or_create(
                identities=[email("Ana@Example.com"), {"kind": "app_install", "value": f"dev-{n}"}]
            )
            results.append(resolution.customer.pk)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Customer.objects.count() == 1
    assert set(results) == {Customer.objects.get().pk}
    assert Identity.objects.filter(kind="email").count() == 1
    assert Identity.objects.filter(kind="app_install").count() == 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_with_overlapping_identities_converge_on_one_customer():
    """A till, the web shop and the app all see the same phone at once, each with another
    identity of the same person."""
    others = [
        {"kind": "email", "value": "ana@example.com"},
        {"kind": "loyalty_card", "value": "OMN0001"},
        {"kind": "app_install", "value": "device-a"},
        {"kind": "web_account", "value": "acct-9"},
        {"kind": "pos_ref", "value": "LIS-1"},
    ]
    barrier = threading.Barrier(10)
    errors = []

    def call(n):
        try:
            barrier.wait()
            resolve_or_create(identities=[phone("+351912345678"), others[n % len(others)]])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    customer = Customer.objects.get()
    assert customer.identities.count() == 6


@given(
    digits=st.integers(min_value=0, max_value=9_999_999),
    prefix=st.sampled_from(["91", "92", "93", "96"]),
    separators=st.lists(st.sampled_from(["", " ", "-", "."]), min_size=9, max_size=9),
    international=st.sampled_from(["+351", "00351", "+351 ", ""]),
)
@settings(max_examples=200, deadline=None)
def test_a_phone_typed_any_way_normalises_to_one_e164_value(
    digits, prefix, separators, international
):
    national = f"{prefix}{digits:07d}"
    typed = international + "".join(
        separator + digit for separator, digit in zip(separators, national, strict=True)
    )
    assert normalise_identity("phone", typed, region="PT").value == f"+351{national}"


@given(
    local=st.from_regex(r"[a-z][a-z0-9.]{0,20}[a-z0-9]", fullmatch=True),
    flips=st.lists(st.booleans(), min_size=40, max_size=40),
)
@settings(max_examples=200, deadline=None)
def test_an_email_in_any_case_with_spaces_around_is_one_identity(local, flips):
    address = f"{local}@example.com"
    if ".." in address:
        return
    typed = (
        "".join(char.upper() if flip else char for char, flip in zip(address, flips, strict=False))
        + address[len(flips) :]
    )
    assert normalise_identity("email", f"  {typed} ").value == address
