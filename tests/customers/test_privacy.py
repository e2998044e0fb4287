"""Export everything about a customer; erase (anonymise) unless a guard refuses."""

import json

import pytest

from customers import hooks
from customers.errors import EraseRefused
from customers.models import Address, Customer, Identity, PrivacyRequest
from customers.services.consent import has_marketing_consent, record_consent
from customers.services.identity import lookup_customer
from customers.services.privacy import erase_customer, export_customer
from customers.services.profile import add_address, update_preferences
from tests.customers.factories import CustomerFactory, IdentityFactory, PhoneFactory
from tests.factories import UserFactory


@pytest.fixture
def ana(db):
    customer = CustomerFactory(first_name="Ana", last_name="Silva", postcode="1200-109")
    IdentityFactory(customer=customer, value="ana@example.com")
    PhoneFactory(customer=customer, value="+351912345678")
    record_consent(customer=customer, channel="email", status="granted", ip_address="10.0.0.1")
    update_preferences(customer=customer, email_frequency="monthly", interests=["running"])
    add_address(
        customer=customer, kind="shipping", line1="Rua Garrett 1", city="Lisboa", country="PT"
    )
    return customer


@pytest.mark.django_db
def test_export_is_one_json_document_with_every_section_including_registered_ones(ana):
    hooks.register_export_section("tests_notes", lambda customer: [{"note": "likes blue"}])
    try:
        document = export_customer(customer=ana, reason="subject access request")
    finally:
        hooks._export_sections.pop("tests_notes")
    json.dumps(document)  # serialisable as is
    assert document["customer"]["first_name"] == "Ana"
    assert {identity["value"] for identity in document["identities"]} == {
        "ana@example.com",
        "+351912345678",
    }
    assert document["consent"]["email"]["status"] == "granted"
    assert document["consent_history"][0]["ip_address"] == "10.0.0.1"
    assert document["preferences"]["interests"] == ["running"]
    assert document["addresses"][0]["line1"] == "Rua Garrett 1"
    assert document["tests_notes"] == [{"note": "likes blue"}]
    assert PrivacyRequest.objects.get().kind == "export"


@pytest.mark.django_db
def test_erase_anonymises_personal_data_keeps_the_customer_row_and_is_audited(ana):
    dpo = UserFactory(username="dpo")
    erased = erase_customer(customer=ana, user=dpo, reason="customer asked")
    assert (erased.first_name, erased.last_name, erased.postcode) == ("", "", "")
    assert erased.erased_at is not None
    assert Customer.objects.filter(pk=ana.pk).exists()  # order totals still point here
    assert not Identity.objects.exists()
    assert not Address.objects.exists()
    assert not has_marketing_consent(ana, "email")
    assert not ana.consent_events.exclude(ip_address=None).exists()
    audit = PrivacyRequest.objects.get(kind="erase")
    assert audit.requested_by == dpo
    assert audit.details["identities"] == 2


@pytest.mark.django_db
def test_erase_is_refused_while_a_guard_objects_and_changes_nothing(ana):
    hooks.register_erase_guard("tests.orders", lambda customer: "order 1042 is still open")
    try:
        with pytest.raises(EraseRefused) as refused:
            erase_customer(customer=ana, reason="customer asked")
    finally:
        hooks._erase_guards.pop("tests.orders")
    assert refused.value.details["refused_by"] == {"tests.orders": "order 1042 is still open"}
    ana.refresh_from_db()
    assert ana.first_name == "Ana"
    assert ana.erased_at is None
    assert lookup_customer(kind="email", value="ana@example.com") == ana
    assert not PrivacyRequest.objects.filter(kind="erase").exists()
