"""The customers API: resolve-or-create, lookup, list and detail, consent, preferences,
addresses, privacy, merges and duplicates."""

import pytest

from customers import hooks
from customers.models import Address, ConsentEvent, Customer, CustomerMerge, Identity
from customers.services.consent import record_consent
from omni.models import Scope
from tests.customers.factories import CustomerFactory, IdentityFactory, PhoneFactory
from tests.factories import LocationFactory, make_token

API = "/api/v1/customers/"


@pytest.fixture
def register(db, token_client):
    return token_client(make_token([Scope.CUSTOMERS_READ, Scope.CUSTOMERS_WRITE])[1])


@pytest.fixture
def reader(db, token_client):
    return token_client(make_token([Scope.CUSTOMERS_READ], name="Reader")[1])


@pytest.fixture
def ana(db):
    customer = CustomerFactory(first_name="Ana", last_name="Silva", city="Lisboa", country="PT")
    IdentityFactory(customer=customer, value="ana@example.com")
    PhoneFactory(customer=customer, value="+351912345678")
    return customer


def error_code(response):
    return response.json()["error"]["code"]


@pytest.mark.django_db
def test_resolve_creates_then_finds_the_same_customer_and_attaches_new_identities(register):
    LocationFactory(code="lisbon-chiado", country="PT")
    body = {
        "identities": [{"kind": "email", "value": "Ana@Example.com"}],
        "profile": {"first_name": "Ana", "preferred_store": "lisbon-chiado"},
        "channel": "web",
    }
    created = register.post(f"{API}resolve/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["created"] is True
    customer_id = created.json()["customer"]["id"]
    assert created.json()["customer"]["preferred_store"] == "lisbon-chiado"

    at_till = register.post(
        f"{API}resolve/",
        {
            "identities": [
                {"kind": "phone", "value": "912 345 678"},
                {"kind": "email", "value": "ana@example.com"},
            ],
            "location": "lisbon-chiado",
            "channel": "store",
        },
        format="json",
    )
    assert at_till.status_code == 200
    assert at_till.json()["customer"]["id"] == customer_id
    assert [identity["value"] for identity in at_till.json()["attached"]] == ["+351912345678"]
    assert at_till.json()["conflicts"] == []


@pytest.mark.django_db
def test_resolve_with_bad_identities_is_400_with_a_clear_code_and_writes_nothing(register):
    cases = [
        ([{"kind": "email", "value": "ana@"}], "invalid_email"),
        ([{"kind": "phone", "value": "call me"}], "invalid_phone"),
        (
            [{"kind": "email", "value": "a@b.pt"}, {"kind": "phone", "value": "912345678"}],
            "invalid_phone",
        ),
        ([{"kind": "fax", "value": "1"}], "invalid_identity"),
        ([], "invalid_input"),
    ]
    for identities, code in cases:
        response = register.post(f"{API}resolve/", {"identities": identities}, format="json")
        assert response.status_code == 400, identities
        assert error_code(response) == code
    assert not Customer.objects.exists()
    assert not Identity.objects.exists()


@pytest.mark.django_db
def test_resolve_needs_customers_write(reader):
    response = reader.post(
        f"{API}resolve/", {"identities": [{"kind": "email", "value": "a@b.pt"}]}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_pos_looks_up_by_email_phone_or_card_as_typed(reader, ana):
    IdentityFactory(customer=ana, kind="loyalty_card", value="OMN12345678")
    for query in (
        "email=ANA@example.com",
        "phone=%2B351%20912%20345%20678",
        "phone=912345678&region=PT",
        "loyalty_card=omn%201234%205678",
        "kind=email&value=ana@example.com",
    ):
        response = reader.get(f"{API}lookup/?{query}")
        assert response.status_code == 200, query
        assert response.json()["id"] == str(ana.public_id)
    missing = reader.get(f"{API}lookup/?email=nobody@example.com")
    assert missing.status_code == 404
    assert error_code(missing) == "customer_not_found"
    assert error_code(reader.get(f"{API}lookup/?phone=banana")) == "invalid_phone"
    assert reader.get(f"{API}lookup/").status_code == 400


@pytest.mark.django_db
def test_the_list_filters_by_name_email_phone_city_and_country(reader, ana):
    bruno = CustomerFactory(first_name="Bruno", last_name="Costa", city="Porto", country="PT")
    CustomerFactory(first_name="Lena", last_name="Schmidt", city="Berlin", country="DE")
    CustomerFactory(merged_into=bruno)  # merged-away customers are not listed

    def ids(query):
        response = reader.get(f"{API}?{query}")
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert len(ids("")) == 3
    assert ids("name=ana%20sil") == {str(ana.public_id)}
    assert ids("email=Ana@Example.com") == {str(ana.public_id)}
    assert ids("phone=912345678&region=PT") == {str(ana.public_id)}
    assert ids("city=porto") == {str(bruno.public_id)}
    assert len(ids("country=PT")) == 2
    row = reader.get(f"{API}?name=ana").json()["results"][0]
    assert (row["email"], row["phone"]) == ("ana@example.com", "+351912345678")


@pytest.mark.django_db
def test_detail_shows_identities_and_consent_and_a_merged_id_answers_for_the_survivor(reader, ana):
    record_consent(customer=ana, channel="email", status="granted")
    old = CustomerFactory(merged_into=ana)
    response = reader.get(f"{API}{old.public_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(ana.public_id)
    assert body["merged_from"] == [str(old.public_id)]
    assert body["consent"]["email"]["status"] == "granted"
    assert body["consent"]["sms"]["status"] is None
    assert {identity["kind"] for identity in body["identities"]} == {"email", "phone"}


@pytest.mark.django_db
def test_consent_changes_through_the_api_and_an_unknown_channel_writes_nothing(register, ana):
    url = f"{API}{ana.public_id}/consent/"
    granted = register.post(
        url,
        {"channel": "sms", "status": "granted", "form": "checkout", "evidence": "ticked box"},
        format="json",
    )
    assert granted.status_code == 201
    assert granted.json()["current"]["sms"]["status"] == "granted"
    assert granted.json()["history"][0]["form"] == "checkout"
    unknown = register.post(url, {"channel": "fax", "status": "granted"}, format="json")
    assert unknown.status_code == 400
    assert error_code(unknown) == "unknown_consent_channel"
    assert ConsentEvent.objects.count() == 1


@pytest.mark.django_db
def test_preferences_default_to_night_quiet_hours_and_can_be_changed(register, ana):
    url = f"{API}{ana.public_id}/preferences/"
    defaults = register.get(url).json()
    assert (defaults["quiet_hours_start"], defaults["quiet_hours_end"]) == ("21:00:00", "08:00:00")
    changed = register.patch(
        url, {"email_frequency": "monthly", "interests": ["running"]}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["email_frequency"] == "monthly"
    bad = register.patch(url, {"email_frequency": "hourly"}, format="json")
    assert bad.status_code == 400


@pytest.mark.django_db
def test_addresses_keep_one_default_per_kind(register, ana):
    url = f"{API}{ana.public_id}/addresses/"
    address = {"kind": "shipping", "line1": "Rua Garrett 1", "city": "Lisboa", "country": "pt"}
    first = register.post(url, address, format="json").json()
    assert first["is_default"] is True
    assert first["country"] == "PT"
    second = register.post(url, {**address, "line1": "Rua Augusta 2"}, format="json").json()
    assert second["is_default"] is False
    register.patch(f"{url}{second['id']}/", {"is_default": True}, format="json")
    assert Address.objects.get(is_default=True).line1 == "Rua Augusta 2"
    assert register.delete(f"{url}{second['id']}/").status_code == 204
    assert Address.objects.get().is_default  # the remaining one took over
    bad_phone = register.post(url, {**address, "phone": "nope"}, format="json")
    assert error_code(bad_phone) == "invalid_phone"
    assert Address.objects.count() == 1


@pytest.mark.django_db
def test_export_needs_write_scope_and_erase_is_409_while_a_guard_refuses(register, reader, ana):
    assert reader.get(f"{API}{ana.public_id}/export/").status_code == 403
    exported = register.get(f"{API}{ana.public_id}/export/")
    assert exported.status_code == 200
    assert exported.json()["customer"]["first_name"] == "Ana"

    hooks.register_erase_guard("tests.orders", lambda customer: "order 7 is open")
    try:
        refused = register.post(f"{API}{ana.public_id}/erase/", {"reason": "asked"}, format="json")
    finally:
        hooks._erase_guards.pop("tests.orders")
    assert refused.status_code == 409
    assert error_code(refused) == "erase_refused"
    assert Identity.objects.filter(customer=ana).count() == 2

    erased = register.post(f"{API}{ana.public_id}/erase/", {"reason": "asked"}, format="json")
    assert erased.status_code == 200
    assert erased.json()["first_name"] == ""
    assert erased.json()["identities"] == []


@pytest.mark.django_db
def test_merge_and_unmerge_through_the_api(register, ana):
    other = CustomerFactory(first_name="Ana", last_name="Silva")
    IdentityFactory(customer=other, kind="loyalty_card", value="OMN0001")
    merged = register.post(
        f"{API}{ana.public_id}/merge/",
        {"merged": str(other.public_id), "reason": "same person at the till"},
        format="json",
    )
    assert merged.status_code == 201, merged.json()
    assert merged.json()["merged_by"].startswith("token:")
    assert register.get(f"{API}lookup/?loyalty_card=OMN0001").json()["id"] == str(ana.public_id)
    again = register.post(
        f"{API}{ana.public_id}/merge/",
        {"merged": str(other.public_id), "reason": "x"},
        format="json",
    )
    assert again.status_code == 409
    assert error_code(again) == "merge_refused"

    merge_id = merged.json()["id"]
    undone = register.post(f"{API}merges/{merge_id}/unmerge/", {"reason": "wrong"}, format="json")
    assert undone.status_code == 200
    assert undone.json()["unmerged_at"] is not None
    assert register.get(f"{API}lookup/?loyalty_card=OMN0001").json()["id"] == str(other.public_id)
    assert CustomerMerge.objects.count() == 1
    assert register.get(f"{API}merges/").json()["count"] == 1


@pytest.mark.django_db
def test_duplicates_list_same_name_and_postcode_and_same_email_as_another_kind(reader, ana):
    twin = CustomerFactory(first_name="ana", last_name="SILVA", postcode=ana.postcode)
    web_only = CustomerFactory(first_name="Zé", postcode="")
    IdentityFactory(customer=web_only, kind="web_account", value="ana@example.com")
    response = reader.get(f"{API}duplicates/")
    assert response.status_code == 200
    pairs = {(row["first"]["id"], row["second"]["id"]): row["reason"] for row in response.json()}
    assert pairs[(str(ana.public_id), str(twin.public_id))] == "same name and postcode"
    assert pairs[(str(ana.public_id), str(web_only.public_id))] == "same email given as web account"


@pytest.mark.django_db
def test_a_replayed_resolve_with_the_same_idempotency_key_creates_nothing_more(register):
    body = {"identities": [{"kind": "email", "value": "new@example.com"}]}
    first = register.post(f"{API}resolve/", body, format="json", HTTP_IDEMPOTENCY_KEY="till-1-42")
    replay = register.post(f"{API}resolve/", body, format="json", HTTP_IDEMPOTENCY_KEY="till-1-42")
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_erasing_twice_is_409_and_unknown_customers_are_404(register, ana):
    url = f"{API}{ana.public_id}/erase/"
    assert register.post(url, {"reason": "asked"}, format="json").status_code == 200
    again = register.post(url, {"reason": "asked"}, format="json")
    assert again.status_code == 409
    assert error_code(again) == "customer_erased"
    missing = register.get(f"{API}00000000-0000-0000-0000-000000000000/consent/")
    assert missing.status_code == 404
    assert error_code(missing) == "customer_not_found"


@pytest.mark.django_db
def test_profile_changes_through_patch_and_bad_values_are_refused(register, ana):
    url = f"{API}{ana.public_id}/"
    changed = register.patch(url, {"first_name": "Ana Maria", "time_zone": "Europe/Lisbon"})
    assert changed.status_code == 200
    assert changed.json()["first_name"] == "Ana Maria"
    bad = register.patch(url, {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 400
    ana.refresh_from_db()
    assert ana.time_zone == "Europe/Lisbon"


@pytest.mark.django_db
def test_identities_are_added_refused_when_taken_and_removed(register, ana):
    url = f"{API}{ana.public_id}/identities/"
    added = register.post(url, {"kind": "loyalty_card", "value": "omn 0042"}, format="json")
    assert added.status_code == 201
    assert added.json()["value"] == "OMN0042"
    other = CustomerFactory()
    taken = register.post(
        f"{API}{other.public_id}/identities/",
        {"kind": "email", "value": "ANA@example.com"},
        format="json",
    )
    assert taken.status_code == 409
    assert error_code(taken) == "identity_taken"
    assert not other.identities.exists()
    assert register.delete(f"{url}phone/+351912345678/").status_code == 204
    assert sorted(ana.identities.values_list("kind", flat=True)) == ["email", "loyalty_card"]


@pytest.mark.django_db
def test_a_pos_field_takes_whatever_the_clerk_types(reader, ana):
    IdentityFactory(customer=ana, kind="loyalty_card", value="OMN12345678")
    for typed in ("ANA@example.com", "912 345 678", "omn 1234-5678"):
        response = reader.get(f"{API}lookup/", {"q": typed, "region": "PT"})
        assert response.status_code == 200, typed
        assert response.json()["id"] == str(ana.public_id)
    assert reader.get(f"{API}lookup/", {"q": "nobody@example.com"}).status_code == 404
    # The same digits as a card of one customer and a phone of another: ask again.
    other = CustomerFactory()
    IdentityFactory(customer=other, kind="loyalty_card", value="912345678")
    ambiguous = reader.get(f"{API}lookup/", {"q": "912345678", "region": "PT"})
    assert ambiguous.status_code == 409
    assert error_code(ambiguous) == "ambiguous_lookup"
