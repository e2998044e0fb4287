"""Catalogue and location network: integrations create and update; bad input writes nothing."""

from decimal import Decimal

import pytest

from inventory.models import Location, Product, Sku
from inventory.services.catalog import gtin_check_digit, is_valid_gtin
from omni.models import Scope
from tests.factories import make_staff, make_token
from tests.inventory.catalog_factories import CatalogSkuFactory, ProductFactory, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(token_client):
    _, plain = make_token([Scope.CATALOG_READ, Scope.CATALOG_WRITE], name="PIM")
    return token_client(plain)


@pytest.fixture
def register(token_client):
    _, plain = make_token([Scope.STOCK_READ], name="Lisbon register 1")
    return token_client(plain)


def test_gtin_check_digits_follow_gs1():
    assert gtin_check_digit("400638133393") == 1
    assert is_valid_gtin("4006381333931")  # EAN-13
    assert is_valid_gtin("96385074")  # EAN-8
    assert is_valid_gtin("036000291452")  # UPC-A
    assert not is_valid_gtin("4006381333932")
    assert not is_valid_gtin("40063813339A1")
    assert not is_valid_gtin("123")


def test_an_integration_creates_a_sku_with_money_as_a_decimal_string(integration):
    product = ProductFactory(slug="aura-runner", name="Aura Runner")
    response = integration.post(
        "/api/v1/skus/",
        {
            "product": "aura-runner",
            "code": "SNK-AURA-BLK-42",
            "barcode": "4006381333931",
            "price": "89.90",
            "currency": "EUR",
            "cost": "37.50",
            "attributes": {"size": "42", "colour": "Black"},
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["price"] == "89.90"
    assert body["currency"] == "EUR"
    assert body["product_name"] == "Aura Runner"
    sku = Sku.objects.get(code="SNK-AURA-BLK-42")
    assert sku.product == product
    assert sku.cost == Decimal("37.50")


def test_a_barcode_with_a_wrong_check_digit_is_refused_and_nothing_is_written(integration):
    ProductFactory(slug="aura-runner")
    response = integration.post(
        "/api/v1/skus/",
        {"product": "aura-runner", "code": "SNK-1", "barcode": "4006381333932", "price": "10"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_barcode"
    assert not Sku.objects.exists()


@pytest.mark.parametrize("field", ["code", "barcode"])
def test_a_duplicate_sku_code_or_barcode_is_a_conflict_and_nothing_is_written(integration, field):
    existing = CatalogSkuFactory(code="SNK-1", barcode="4006381333931")
    payload = {
        "product": existing.product.slug,
        "code": "SNK-2",
        "barcode": "96385074",
        "price": "10.00",
    }
    payload[field] = getattr(existing, field)
    response = integration.post("/api/v1/skus/", payload)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "duplicate"
    assert error["details"]["field"] == field
    assert Sku.objects.count() == 1


@pytest.mark.parametrize(
    ("price", "currency"), [("-1.00", "EUR"), ("abc", "EUR"), ("10.001", "EUR"), ("10", "euro")]
)
def test_bad_money_is_refused_and_nothing_is_written(integration, price, currency):
    ProductFactory(slug="tee")
    response = integration.post(
        "/api/v1/skus/", {"product": "tee", "code": "TEE-1", "price": price, "currency": currency}
    )
    assert response.status_code == 400
    assert "error" in response.json()
    assert not Sku.objects.exists()


def test_a_sku_for_an_unknown_product_is_refused(integration):
    response = integration.post(
        "/api/v1/skus/", {"product": "nope", "code": "X-1", "price": "1.00"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["product"]
    assert not Sku.objects.exists()


def test_a_price_change_keeps_the_code_and_checks_the_new_barcode(integration):
    sku = CatalogSkuFactory(code="TEE-ESS-WHT-M")
    response = integration.patch(f"/api/v1/skus/{sku.code}/", {"price": "24.99"})
    assert response.status_code == 200
    assert response.json()["price"] == "24.99"
    refused = integration.patch(f"/api/v1/skus/{sku.code}/", {"barcode": "1234567890123"})
    assert refused.status_code == 400
    sku.refresh_from_db()
    assert sku.price == Decimal("24.99")
    assert sku.barcode != "1234567890123"


def test_a_register_with_stock_read_looks_a_sku_up_by_barcode_but_cannot_write(register):
    sku = CatalogSkuFactory(barcode="4006381333931")
    response = register.get("/api/v1/skus/", {"barcode": "4006381333931"})
    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == [sku.code]
    refused = register.post(
        "/api/v1/skus/", {"product": sku.product.slug, "code": "NEW", "price": "1.00"}
    )
    assert refused.status_code == 403
    assert not Sku.objects.filter(code="NEW").exists()


def test_products_list_their_skus_and_filter_by_category(integration):
    sku = CatalogSkuFactory(product=ProductFactory(slug="boot", category__slug="boots"))
    CatalogSkuFactory(product=ProductFactory(slug="tee", category__slug="t-shirts"))
    response = integration.get("/api/v1/products/", {"category": "boots"})
    assert response.status_code == 200
    [product] = response.json()["results"]
    assert product["slug"] == "boot"
    assert [row["code"] for row in product["skus"]] == [sku.code]


def test_an_integration_creates_a_store_and_a_duplicate_code_is_a_conflict(integration):
    payload = {
        "code": "coimbra-baixa",
        "name": "Coimbra Baixa",
        "kind": "store",
        "city": "Coimbra",
        "latitude": "40.209000",
        "longitude": "-8.429000",
        "time_zone": "Europe/Lisbon",
        "offers_click_and_collect": True,
        "opening_hours": {"mon": [["10:00", "19:00"]]},
    }
    created = integration.post("/api/v1/locations/", payload)
    assert created.status_code == 201, created.json()
    assert created.json()["offers_click_and_collect"] is True
    again = integration.post("/api/v1/locations/", payload)
    assert again.status_code == 409
    assert Location.objects.filter(code="coimbra-baixa").count() == 1


def test_a_location_with_an_unknown_time_zone_or_latitude_is_refused(integration):
    response = integration.post(
        "/api/v1/locations/",
        {"code": "x", "name": "X", "time_zone": "Mars/Olympus", "latitude": "91"},
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) >= {"time_zone", "latitude"}
    assert not Location.objects.filter(code="x").exists()


def test_a_store_manager_changes_nothing_in_the_network_but_reads_it(api_client):
    lisbon = place("lisbon-chiado")
    rui = make_staff("rui", role="Store manager", locations=[lisbon])
    api_client.force_authenticate(rui)
    assert api_client.get("/api/v1/locations/").status_code == 200
    response = api_client.patch("/api/v1/locations/lisbon-chiado/", {"name": "Renamed"})
    assert response.status_code == 403
    lisbon.refresh_from_db()
    assert lisbon.name == "Lisbon Chiado"


def test_a_planner_switches_on_click_and_collect_for_a_store(api_client):
    place("porto-baixa")
    lena = make_staff("lena", role="Inventory planner")
    api_client.force_authenticate(lena)
    response = api_client.patch(
        "/api/v1/locations/porto-baixa/", {"offers_click_and_collect": True, "code": "hack"}
    )
    assert response.status_code == 200
    location = Location.objects.get(code="porto-baixa")
    assert location.offers_click_and_collect is True


def test_categories_and_brands_are_created_once(integration):
    assert integration.post("/api/v1/brands/", {"name": "Nordwind"}).status_code == 201
    assert integration.post("/api/v1/brands/", {"name": "Nordwind"}).status_code == 409
    created = integration.post("/api/v1/categories/", {"name": "Boots", "slug": "boots"})
    assert created.status_code == 201
    product = integration.post(
        "/api/v1/products/",
        {"name": "Harz Hiker", "slug": "harz-hiker", "category": "boots", "brand": "Nordwind"},
    )
    assert product.status_code == 201
    assert Product.objects.get(slug="harz-hiker").brand.name == "Nordwind"
