"""OWASP API3 (mass assignment): fields the server owns (status, totals, on hand,
loyalty balance, merged_into, codes, timestamps) are ignored when a client sends them."""

from decimal import Decimal

import pytest

from campaigns.models import Campaign
from customers.models import Customer, LoyaltyAccount
from inventory.models import Location, Sku, StockLevel
from omni.models import Scope
from orders.models import Order
from tests.campaigns.factories import campaign_with_variants
from tests.customers.factories import CustomerFactory
from tests.factories import LocationFactory, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(token_client):
    return token_client(make_token(list(Scope.values), name="Integration")[1])


@pytest.fixture
def lisbon():
    return LocationFactory(code="lisbon-chiado", offers_click_and_collect=True)


@pytest.fixture
def sneaker(lisbon):
    sku = SkuFactory(code="SNK-42", price=Decimal("80.00"))
    StockLevelFactory(location=lisbon, sku=sku, on_hand=3)
    return sku


def test_a_profile_edit_cannot_merge_erase_or_re_identify_a_customer(integration):
    ana, other = CustomerFactory(first_name="Ana"), CustomerFactory()
    response = integration.patch(
        f"/api/v1/customers/{ana.public_id}/",
        {
            "first_name": "Ana Maria",
            "merged_into": str(other.public_id),
            "erased_at": "2026-01-01T00:00:00Z",
            "public_id": str(other.public_id),
            "id": other.pk,
            "created_at": "2001-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 200
    ana.refresh_from_db()
    assert ana.first_name == "Ana Maria"
    assert (ana.merged_into_id, ana.erased_at) == (None, None)
    assert str(ana.public_id) == response.json()["id"] != str(other.public_id)
    assert ana.created_at.year != 2001


def test_earning_points_cannot_set_the_balance(integration):
    ana = CustomerFactory()
    response = integration.post(
        f"/api/v1/customers/{ana.public_id}/loyalty/earn/",
        {"reference_id": "OM-1", "points": 10, "balance": 1_000_000, "tier": "gold"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="earn-1",
    )
    assert response.status_code == 201, response.json()
    account = LoyaltyAccount.objects.get(customer=ana)
    assert account.balance == 10
    assert account.tier != "gold"


def test_a_sku_edit_cannot_change_its_code_or_its_stock(integration, sneaker, lisbon):
    response = integration.patch(
        f"/api/v1/skus/{sneaker.code}/",
        {"price": "79.00", "code": "HACKED", "on_hand": 500, "id": 999},
        format="json",
    )
    assert response.status_code == 200
    sku = Sku.objects.get(pk=sneaker.pk)
    assert (sku.code, sku.price) == ("SNK-42", Decimal("79.00"))
    assert StockLevel.objects.get(location=lisbon, sku=sku).on_hand == 3


def test_a_location_edit_cannot_change_its_code(integration, lisbon):
    response = integration.patch(
        f"/api/v1/locations/{lisbon.code}/", {"name": "Chiado", "code": "porto"}, format="json"
    )
    assert response.status_code == 200
    assert Location.objects.get(pk=lisbon.pk).code == "lisbon-chiado"


def test_a_checkout_cannot_set_its_status_totals_or_prices(integration, sneaker):
    response = integration.post(
        "/api/v1/checkout/",
        {
            "channel": "web",
            "email": "ana@example.com",
            "lines": [{"sku": "SNK-42", "quantity": 1, "unit_price": "0.01", "total": "0.01"}],
            "delivery": {"method": "click_and_collect", "pickup_location": "lisbon-chiado"},
            "status": "fulfilled",
            "order_status": "fulfilled",
            "total": "0.01",
            "tax_total": "0.00",
            "number": "OM-FAKE",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="checkout-1",
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert order.number != "OM-FAKE"
    assert order.status == Order.Status.ALLOCATED
    assert order.total == Decimal("80.00")
    assert order.lines.get().unit_price == Decimal("80.00")


def test_a_campaign_edit_cannot_mark_it_sent(integration):
    campaign = campaign_with_variants(channels=["email"])
    response = integration.patch(
        f"/api/v1/campaigns/{campaign.public_id}/",
        {"name": "Spring", "status": "sent", "started_at": "2026-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status, campaign.started_at) == (
        "Spring",
        Campaign.Status.DRAFT,
        None,
    )


def test_customers_created_by_resolve_cannot_arrive_merged_or_erased(integration):
    other = CustomerFactory()
    response = integration.post(
        "/api/v1/customers/resolve/",
        {
            "identities": [{"kind": "email", "value": "new@example.com"}],
            "profile": {"first_name": "Nova", "merged_into": str(other.public_id)},
            "merged_into": str(other.public_id),
            "erased_at": "2026-01-01T00:00:00Z",
            "channel": "web",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = Customer.objects.get(public_id=response.json()["customer"]["id"])
    assert (created.merged_into_id, created.erased_at) == (None, None)
