"""The customers admin: search by any identity, the 360 page and its panels, merging
after a side-by-side preview, possible duplicates."""

import io
from pathlib import Path

import pytest
from django.urls import reverse

from customers import hooks
from customers.models import Customer, CustomerMerge, DuplicateSuggestion, PrivacyRequest
from customers.seed import seed
from customers.services.consent import record_consent
from customers.services.profile import add_address
from omni.models import Role
from tests.customers.factories import CustomerFactory, IdentityFactory, PhoneFactory
from tests.factories import make_staff


@pytest.fixture
def ana_at_lisbon(db, client, lisbon):
    """Ana, a store associate in Lisbon, logged in to the admin."""
    clerk = make_staff("ana-clerk", Role.STORE_ASSOCIATE, [lisbon])
    client.force_login(clerk)
    return client


@pytest.fixture
def maria(db):
    customer = CustomerFactory(first_name="Maria", last_name="Santos", postcode="1200-109")
    IdentityFactory(customer=customer, value="maria@example.com")
    PhoneFactory(customer=customer, value="+351912345678")
    IdentityFactory(customer=customer, kind="loyalty_card", value="OMN12345678")
    return customer


@pytest.mark.django_db
@pytest.mark.parametrize(
    "term", ["MARIA@example.com", "912 345 678", "+351 91 234 5678", "omn 1234 5678", "maria san"]
)
def test_a_store_associate_finds_a_customer_by_whatever_they_type(ana_at_lisbon, maria, term):
    CustomerFactory(first_name="Bruno")
    response = ana_at_lisbon.get(reverse("admin:customers_customer_changelist"), {"q": term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [maria]


@pytest.mark.django_db
def test_the_360_page_shows_profile_identities_consent_addresses_and_registered_panels(
    ana_at_lisbon, maria, settings, monkeypatch
):
    templates = [dict(settings.TEMPLATES[0])]
    templates[0]["DIRS"] = [*templates[0]["DIRS"], Path(__file__).parent / "templates"]
    settings.TEMPLATES = templates
    record_consent(customer=maria, channel="email", status="granted", form="signup")
    add_address(customer=maria, kind="shipping", line1="Rua Garrett 1", city="Lisboa", country="PT")
    # Only this test's panel is registered, so the other slots show their placeholders.
    monkeypatch.setattr(hooks, "_panels_360", {})
    hooks.register_360_panel(
        "loyalty", "tests/panel.html", lambda customer, request: {"points": 120}, title="Loyalty"
    )
    response = ana_at_lisbon.get(reverse("admin:customers_customer_360", args=[maria.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Maria Santos", "+351912345678", "OMN12345678", "Rua Garrett 1", "✓ Yes"):
        assert text in html
    assert "Points: 120 for Maria" in html
    # The loyalty slot is taken by the test's panel; the others are marked placeholders.
    assert 'data-slot="loyalty"' not in html
    assert 'data-slot="timeline"' in html


@pytest.mark.django_db
def test_merging_from_the_preview_needs_a_reason_and_then_merges(ana_at_lisbon, maria):
    twin = CustomerFactory(first_name="Maria", last_name="Santos", postcode="1200-109")
    url = reverse("admin:customers_customer_merge") + f"?ids={maria.pk},{twin.pk}"
    preview = ana_at_lisbon.get(url)
    assert preview.status_code == 200
    assert "Why are they the same person?" in preview.content.decode()

    no_reason = ana_at_lisbon.post(url, {"survivor": maria.pk, "reason": ""})
    assert no_reason.status_code == 200
    assert not CustomerMerge.objects.exists()

    done = ana_at_lisbon.post(url, {"survivor": maria.pk, "reason": "same card at the till"})
    assert done.status_code == 302
    merge = CustomerMerge.objects.get()
    assert (merge.survivor, merge.merged, merge.merged_by.username) == (maria, twin, "ana-clerk")


@pytest.mark.django_db
def test_the_merge_action_sends_two_selected_customers_to_the_preview(ana_at_lisbon, maria):
    twin = CustomerFactory()
    response = ana_at_lisbon.post(
        reverse("admin:customers_customer_changelist"),
        {"action": "merge_selected", "_selected_action": [maria.pk, twin.pk]},
    )
    assert response.status_code == 302
    assert reverse("admin:customers_customer_merge") in response["Location"]


@pytest.mark.django_db
def test_possible_duplicates_list_and_dismiss(ana_at_lisbon, maria):
    twin = CustomerFactory(first_name="maria", last_name="santos", postcode="1200-109")
    url = reverse("admin:customers_customer_duplicates")
    assert "same name and postcode" in ana_at_lisbon.get(url).content.decode()
    ana_at_lisbon.post(url, {"dismiss": f"{maria.pk},{twin.pk}"})
    assert DuplicateSuggestion.objects.get().status == "dismissed"
    assert "same name and postcode" not in ana_at_lisbon.get(url).content.decode()


@pytest.mark.django_db
def test_staff_without_a_customers_role_cannot_open_customer_pages(client, lisbon, maria):
    client.force_login(make_staff("lena-planner", Role.INVENTORY_PLANNER))
    # Planners read everything (customers:read) but cannot merge (no customers:write).
    assert client.get(reverse("admin:customers_customer_360", args=[maria.pk])).status_code == 200
    assert client.get(reverse("admin:customers_customer_merge")).status_code == 403


@pytest.mark.django_db
def test_the_demo_seed_makes_thousands_of_customers_once():
    out = io.StringIO()
    seed(stdout=out, force=False, count=300)
    first = Customer.objects.count()
    assert first >= 300
    seed(stdout=out, force=False, count=300)
    assert Customer.objects.count() == first
    assert "skipped" in out.getvalue()


@pytest.mark.django_db
def test_a_clerk_records_consent_stated_at_the_counter_from_the_360_page(
    ana_at_lisbon, maria, lisbon
):
    url = reverse("admin:customers_customer_consent", args=[maria.pk])
    response = ana_at_lisbon.post(url, {"channel": "sms", "status": "granted"})
    assert response.status_code == 302
    event = maria.consent_events.get()
    assert (event.channel, event.status, event.staff.username) == ("sms", "granted", "ana-clerk")
    assert event.source_location == lisbon
    ana_at_lisbon.post(url, {"channel": "fax", "status": "granted"})
    assert maria.consent_events.count() == 1


@pytest.mark.django_db
def test_a_clerk_adds_an_identity_typed_locally_and_a_taken_one_is_refused(ana_at_lisbon, maria):
    url = reverse("admin:customers_customer_add_identity", args=[maria.pk])
    ana_at_lisbon.post(url, {"kind": "email", "value": "Maria.Work@Example.com"})
    assert maria.identities.filter(value="maria.work@example.com").exists()
    other = CustomerFactory()
    ana_at_lisbon.post(
        reverse("admin:customers_customer_add_identity", args=[other.pk]),
        {"kind": "phone", "value": "+351 912 345 678"},
    )
    assert not other.identities.exists()


@pytest.mark.django_db
def test_the_data_download_is_the_audited_export(ana_at_lisbon, maria):
    response = ana_at_lisbon.get(reverse("admin:customers_customer_export", args=[maria.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert response.json()["customer"]["first_name"] == "Maria"
    assert maria.pk in PrivacyRequest.objects.values_list("customer_id", flat=True)


@pytest.mark.django_db
def test_a_clerk_edits_the_profile_and_sees_the_identities(ana_at_lisbon, maria):
    url = reverse("admin:customers_customer_change", args=[maria.pk])
    page = ana_at_lisbon.get(url)
    assert "OMN12345678" in page.content.decode()
    form = page.context["adminform"].form
    data = {
        name: (form[name].value() if form[name].value() is not None else "") for name in form.fields
    }
    data.update(
        {
            "first_name": "Maria José",
            "identities-TOTAL_FORMS": "3",
            "identities-INITIAL_FORMS": "3",
            "identities-MIN_NUM_FORMS": "0",
            "identities-MAX_NUM_FORMS": "1000",
        }
    )
    for n, identity in enumerate(maria.identities.order_by("kind", "value")):
        data[f"identities-{n}-id"] = identity.pk
        data[f"identities-{n}-customer"] = maria.pk
    response = ana_at_lisbon.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    maria.refresh_from_db()
    assert maria.first_name == "Maria José"


@pytest.mark.django_db
def test_only_administrators_erase_from_the_admin_and_a_guard_still_refuses(
    ana_at_lisbon, client, maria
):
    url = reverse("admin:customers_customer_erase", args=[maria.pk])
    assert ana_at_lisbon.get(url).status_code == 403
    client.force_login(make_staff("dpo", Role.ADMINISTRATOR))
    hooks.register_erase_guard("tests.orders", lambda customer: "order 7 is still open")
    try:
        refused = client.post(url, {"reason": "asked by email"})
    finally:
        hooks._erase_guards.pop("tests.orders")
    assert "order 7 is still open" in refused.content.decode()
    maria.refresh_from_db()
    assert maria.erased_at is None
    assert client.post(url, {"reason": "asked by email"}).status_code == 302
    maria.refresh_from_db()
    assert maria.erased_at is not None
    assert not maria.identities.exists()
