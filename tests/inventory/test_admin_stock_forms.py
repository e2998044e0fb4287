"""Adjust and count from the admin. The pages render on their own; the writes go through
the stock services (`inventory.services.stock`), so those tests run where they exist."""

import importlib.util

import pytest

from inventory.models import StockLevel, StockMovement
from omni.models import Role
from tests.factories import make_staff
from tests.inventory.catalog_factories import CatalogSkuFactory, place, stock

pytestmark = pytest.mark.django_db

needs_stock_services = pytest.mark.skipif(
    importlib.util.find_spec("inventory.services.stock") is None,
    reason="the stock services (adjust_stock, count_stock) are not on this branch",
)


@pytest.fixture
def network():
    return {"lisbon": place("lisbon-chiado"), "porto": place("porto-baixa")}


@pytest.fixture
def rui(client, network):
    """Rui manages the Lisbon store."""
    client.force_login(make_staff("rui", role=Role.STORE_MANAGER, locations=[network["lisbon"]]))
    return client


@pytest.fixture
def boots():
    return CatalogSkuFactory(code="BOT-DOU-BLK-42")


def test_the_adjust_page_offers_only_the_managers_own_stores(rui, network, boots):
    stock(network["lisbon"], boots, 3)
    response = rui.get("/admin/inventory/stocklookup/adjust/", {"sku": boots.pk})
    assert response.status_code == 200
    choices = list(response.context["form"].fields["location"].queryset)
    assert choices == [network["lisbon"]]


def test_the_count_page_expects_the_quantity_on_hand_at_this_store(rui, network, boots):
    stock(network["lisbon"], boots, 3)
    response = rui.get("/admin/inventory/stocklookup/count/", {"sku": boots.pk})
    assert response.context["form"].initial["expected"] == 3


def test_an_adjustment_of_zero_or_without_a_reason_is_refused_and_changes_nothing(
    rui, network, boots
):
    stock(network["lisbon"], boots, 3)
    url = f"/admin/inventory/stocklookup/adjust/?sku={boots.pk}"
    response = rui.post(url, {"location": network["lisbon"].pk, "quantity_delta": 0})
    assert response.status_code == 200
    assert response.context["form"].errors["quantity_delta"]
    other = rui.post(
        url, {"location": network["lisbon"].pk, "quantity_delta": -1, "reason_code": "other"}
    )
    assert other.context["form"].errors["note"]
    assert StockLevel.objects.get(location=network["lisbon"], sku=boots).on_hand == 3


def test_a_store_associate_cannot_adjust(client, network, boots):
    client.force_login(make_staff("ana", role=Role.STORE_ASSOCIATE, locations=[network["lisbon"]]))
    assert client.get(f"/admin/inventory/stocklookup/adjust/?sku={boots.pk}").status_code == 403


@needs_stock_services
def test_rui_writes_off_a_damaged_pair_with_its_reason(rui, network, boots):
    stock(network["lisbon"], boots, 3)
    response = rui.post(
        f"/admin/inventory/stocklookup/adjust/?sku={boots.pk}",
        {"location": network["lisbon"].pk, "quantity_delta": -1, "reason_code": "damaged"},
    )
    assert response.status_code == 302
    assert StockLevel.objects.get(location=network["lisbon"], sku=boots).on_hand == 2
    movement = StockMovement.objects.filter(sku=boots).order_by("-id").first()
    assert movement.delta == -1
    assert "Damaged" in movement.reason


@needs_stock_services
def test_rui_counts_the_shelf_and_on_hand_follows_the_count(rui, network, boots):
    stock(network["lisbon"], boots, 3)
    response = rui.post(
        f"/admin/inventory/stocklookup/count/?sku={boots.pk}",
        {"location": network["lisbon"].pk, "counted": 5, "expected": 3},
    )
    assert response.status_code == 302
    assert StockLevel.objects.get(location=network["lisbon"], sku=boots).on_hand == 5


@needs_stock_services
def test_a_count_against_a_stale_quantity_is_refused_on_the_page(rui, network, boots):
    stock(network["lisbon"], boots, 3)
    response = rui.post(
        f"/admin/inventory/stocklookup/count/?sku={boots.pk}",
        {"location": network["lisbon"].pk, "counted": 5, "expected": 2},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert StockLevel.objects.get(location=network["lisbon"], sku=boots).on_hand == 3
