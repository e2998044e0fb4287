"""Optimistic concurrency: a GET of a shared record carries an ETag; a PUT/PATCH with a
stale If-Match gets 412 in the one error shape and changes nothing."""

from decimal import Decimal

import pytest
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator

from campaigns.models import Campaign, SmsVariant
from customers.models import Customer, Preferences
from inventory.models import Location, Product, Sku
from omni.models import Scope
from tests.campaigns.factories import campaign_with_variants
from tests.customers.factories import CustomerFactory
from tests.factories import LocationFactory, make_token
from tests.inventory.catalog_factories import ProductFactory
from tests.inventory.factories import SkuFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(token_client):
    _, plain = make_token(list(Scope.values), name="Back office integration")
    return token_client(plain)


def _customer():
    customer = CustomerFactory(first_name="Ana", city="Lisboa")
    return f"/api/v1/customers/{customer.public_id}/", customer


def _preferences():
    customer = CustomerFactory()
    return f"/api/v1/customers/{customer.public_id}/preferences/", customer


def _location():
    location = LocationFactory(code="lisbon-chiado", name="Lisbon Chiado")
    return f"/api/v1/locations/{location.code}/", location


def _product():
    product = ProductFactory(slug="aura-runner", name="Aura runner")
    return f"/api/v1/products/{product.slug}/", product


def _sku():
    sku = SkuFactory(code="SNK-42", price=Decimal("80.00"))
    return f"/api/v1/skus/{sku.code}/", sku


def _campaign():
    campaign = campaign_with_variants(channels=["sms"])
    return f"/api/v1/campaigns/{campaign.public_id}/", campaign


def _campaign_message():
    campaign = campaign_with_variants(channels=["sms"])
    return f"/api/v1/campaigns/{campaign.public_id}/message/", campaign


# (make the record, method, first writer's change, second writer's change, what is stored now)
RECORDS = {
    "customer profile": (
        _customer,
        "patch",
        {"city": "Porto"},
        {"city": "Braga"},
        lambda record: Customer.objects.get(pk=record.pk).city,
        "Porto",
    ),
    "customer preferences": (
        _preferences,
        "patch",
        {"email_frequency": "monthly"},
        {"email_frequency": "daily"},
        lambda record: Preferences.objects.get(customer=record).email_frequency,
        "monthly",
    ),
    "location": (
        _location,
        "patch",
        {"name": "Chiado"},
        {"name": "Lisbon downtown"},
        lambda record: Location.objects.get(pk=record.pk).name,
        "Chiado",
    ),
    "product": (
        _product,
        "patch",
        {"name": "Aura runner 2"},
        {"name": "Aura classic"},
        lambda record: Product.objects.get(pk=record.pk).name,
        "Aura runner 2",
    ),
    "SKU price": (
        _sku,
        "patch",
        {"price": "69.90"},
        {"price": "59.90"},
        lambda record: str(Sku.objects.get(pk=record.pk).price),
        "69.90",
    ),
    "campaign": (
        _campaign,
        "patch",
        {"name": "Spring sale"},
        {"name": "Summer sale"},
        lambda record: Campaign.objects.get(pk=record.pk).name,
        "Spring sale",
    ),
    "campaign message": (
        _campaign_message,
        "put",
        {"sms": {"text": "Spring is here"}},
        {"sms": {"text": "Summer is here"}},
        lambda record: SmsVariant.objects.get(message__campaign=record).text,
        "Spring is here",
    ),
}


@pytest.mark.parametrize("name", list(RECORDS))
def test_a_stale_if_match_is_refused_with_412_and_changes_nothing(integration, name):
    make, method, first, second, stored, expected = RECORDS[name]
    url, record = make()
    read = integration.get(url)
    assert read.status_code == 200
    tag = read["ETag"]
    assert tag.startswith('"')

    # Someone else changes the record after our read...
    other = getattr(integration, method)(url, first, format="json", HTTP_IF_MATCH=tag)
    assert other.status_code == 200, other.json()
    assert other["ETag"] != tag
    # ...so our write, based on what we read, is refused.
    stale = getattr(integration, method)(url, second, format="json", HTTP_IF_MATCH=tag)
    assert stale.status_code == 412
    error = stale.json()["error"]
    assert error["code"] == "precondition_failed"
    assert error["details"]["current_etag"] == other["ETag"]
    assert stored(record) == expected

    # Read again, and the write goes through with the fresh tag.
    fresh = integration.get(url)["ETag"]
    assert fresh == other["ETag"]
    done = getattr(integration, method)(url, second, format="json", HTTP_IF_MATCH=fresh)
    assert done.status_code == 200
    assert done["ETag"] == integration.get(url)["ETag"]


def test_a_write_without_if_match_still_works(integration):
    url, customer = _customer()
    response = integration.patch(url, {"city": "Faro"}, format="json")
    assert response.status_code == 200
    assert Customer.objects.get(pk=customer.pk).city == "Faro"


def test_if_match_star_and_weakened_tags_match_the_current_record(integration):
    url, customer = _customer()
    tag = integration.get(url)["ETag"]
    assert integration.patch(url, {"city": "Faro"}, HTTP_IF_MATCH="*").status_code == 200
    tag = integration.get(url)["ETag"]
    weakened = integration.patch(url, {"city": "Tavira"}, HTTP_IF_MATCH=f"W/{tag}")
    assert weakened.status_code == 200
    assert Customer.objects.get(pk=customer.pk).city == "Tavira"


def test_if_none_match_answers_304_while_the_record_is_unchanged(integration):
    url, _ = _sku()
    tag = integration.get(url)["ETag"]
    cached = integration.get(url, HTTP_IF_NONE_MATCH=tag)
    assert cached.status_code == 304
    assert cached.content == b""
    integration.patch(url, {"price": "70.00"}, format="json")
    assert integration.get(url, HTTP_IF_NONE_MATCH=tag).status_code == 200


def test_lists_carry_no_etag(integration):
    _sku()
    assert "ETag" not in integration.get("/api/v1/skus/")


def test_a_replayed_write_returns_its_first_response_even_with_its_now_stale_tag(integration):
    url, sku = _sku()
    tag = integration.get(url)["ETag"]
    headers = {"HTTP_IF_MATCH": tag, "HTTP_IDEMPOTENCY_KEY": "price-change-1"}
    first = integration.patch(url, {"price": "75.00"}, format="json", **headers)
    replay = integration.patch(url, {"price": "75.00"}, format="json", **headers)
    assert first.status_code == replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert Sku.objects.get(pk=sku.pk).price == Decimal("75.00")


@override_settings(DEBUG=False)
def test_the_schema_documents_etag_and_if_match():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/skus/{code}/"]
    patch_headers = {p["name"] for p in operation["patch"]["parameters"] if p["in"] == "header"}
    get_headers = {p["name"] for p in operation["get"]["parameters"] if p["in"] == "header"}
    assert "If-Match" in patch_headers
    assert "If-None-Match" in get_headers
    assert "ETag" in operation["get"]["responses"]["200"]["headers"]
    assert "412" in operation["patch"]["responses"]
    message = schema["paths"]["/api/v1/campaigns/{public_id}/message/"]
    assert "If-Match" in {p["name"] for p in message["put"]["parameters"]}
