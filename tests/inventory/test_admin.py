"""The inventory admin: stock lookup at the counter, ledger, transfers, low stock, CSV."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import Sku, StockMovement, Transfer
from inventory.seed import ean13
from inventory.services import transfers
from omni.jobs import run_job
from omni.models import Job, Role
from tests.factories import UserFactory, make_staff
from tests.inventory.catalog_factories import CatalogSkuFactory, place, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def network():
    return {
        "lisbon": place("lisbon-chiado"),
        "porto": place("porto-baixa"),
        "madrid": place("madrid-salamanca"),
        "berlin": place("berlin-mitte"),
        "warehouse": place("warehouse-central"),
    }


@pytest.fixture
def ana(client, network):
    """Ana works the counter in Lisbon."""
    user = make_staff("ana", role=Role.STORE_ASSOCIATE, locations=[network["lisbon"]])
    client.force_login(user)
    return client


@pytest.fixture
def lena(client, network):
    """Lena plans stock for the whole network."""
    client.force_login(make_staff("lena", role=Role.INVENTORY_PLANNER))
    return client


@pytest.fixture
def boots():
    return CatalogSkuFactory(code="BOT-DOU-BLK-42", barcode="4006381333931", name="Douro Chelsea")


def test_ana_scans_a_barcode_and_sees_stock_here_and_nearby_stores_nearest_first(
    ana, network, boots
):
    stock(network["lisbon"], boots, 1)
    stock(network["porto"], boots, 4)
    stock(network["berlin"], boots, 2)
    stock(network["madrid"], boots, 3)
    response = ana.get("/admin/inventory/stocklookup/", {"q": "4006381333931"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Here (Lisbon Chiado)" in page
    assert "Low stock" in page
    assert page.index("Porto Baixa") < page.index("Madrid Salamanca") < page.index("Berlin Mitte")
    assert "Movement history" in page
    assert "autofocus" in page


def test_a_name_search_lists_the_matches(ana, network):
    CatalogSkuFactory(code="TEE-1", name="Essential Tee white M")
    CatalogSkuFactory(code="TEE-2", name="Essential Tee white L")
    page = ana.get("/admin/inventory/stocklookup/", {"q": "essential"}).content.decode()
    assert "2 matches" in page
    assert "TEE-1" in page
    assert "TEE-2" in page


def test_the_sku_page_shows_stock_at_every_location(lena, network, boots):
    stock(network["porto"], boots, 4)
    page = lena.get(f"/admin/inventory/sku/{boots.pk}/change/").content.decode()
    assert "Stock here and nearby" in page
    assert "Porto Baixa" in page


def test_store_staff_see_only_their_stores_movements(ana, network, boots):
    stock(network["lisbon"], boots, 1)
    stock(network["berlin"], boots, 2)
    response = ana.get("/admin/inventory/stockmovement/")
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert {movement.location.code for movement in rows} == {"lisbon-chiado"}


def test_a_staff_member_without_a_role_cannot_open_the_inventory_admin(client, network):
    client.force_login(UserFactory(username="temp", is_staff=True))
    assert client.get("/admin/inventory/stocklookup/").status_code == 403
    assert client.get("/admin/inventory/transfer/").status_code == 403


def test_ana_sees_lisbon_transfers_only(ana, network, boots):
    mine = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=boots, quantity=1)],
    )
    other = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["berlin"],
        lines=[transfers.LineRequest(sku=boots, quantity=1)],
    )
    rows = ana.get("/admin/inventory/transfer/").context["cl"].result_list
    assert [transfer.pk for transfer in rows] == [mine.pk]
    assert ana.get(f"/admin/inventory/transfer/{other.pk}/change/").status_code == 302


def test_a_planner_ships_a_picked_transfer_from_the_list(lena, network, boots):
    stock(network["warehouse"], boots, 5)
    transfer = transfers.create_transfer(
        source=network["warehouse"],
        destination=network["lisbon"],
        lines=[transfers.LineRequest(sku=boots, quantity=2)],
    )
    transfers.pick_transfer(transfer=transfer)
    response = lena.post(
        "/admin/inventory/transfer/",
        {"action": "ship", "_selected_action": [transfer.pk]},
        follow=True,
    )
    assert "Shipped: 1 transfer(s)." in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.IN_TRANSIT
    # Shipping again is refused with the reason, and changes nothing.
    again = lena.post(
        "/admin/inventory/transfer/",
        {"action": "ship", "_selected_action": [transfer.pk]},
        follow=True,
    )
    assert "Cannot ship a transfer that is in_transit." in again.content.decode()
    assert StockMovement.objects.filter(kind="transfer_out").count() == 1


def test_the_low_stock_list_requests_replenishment_from_the_warehouse(lena, network, boots):
    stock(network["lisbon"], boots, 1, reorder_point=3)
    stock(network["warehouse"], boots, 20)
    response = lena.get("/admin/inventory/lowstocklevel/")
    [level] = response.context["cl"].result_list
    assert level.location.code == "lisbon-chiado"
    lena.post(
        "/admin/inventory/lowstocklevel/",
        {"action": "request_replenishment", "_selected_action": [level.pk]},
    )
    transfer = Transfer.objects.get()
    assert (transfer.source.code, transfer.destination.code) == (
        "warehouse-central",
        "lisbon-chiado",
    )
    assert transfer.lines.get().quantity_requested == 5


def _upload(client, text):
    return client.post(
        "/admin/csv/products/import/",
        {"file": SimpleUploadedFile("catalogue.csv", text.encode(), content_type="text/csv")},
    )


HEADER = "product_slug,product_name,sku_code,barcode,price,location,quantity\n"


def test_the_csv_import_reports_errors_and_writes_nothing(lena, network):
    response = _upload(lena, HEADER + "tee,Tee,TEE-1,4006381333932,19.90,lisbon-chiado,2\n")
    page = response.content.decode()
    assert "nothing will be imported" in page
    assert "not a valid GTIN" in page
    assert not Sku.objects.exists()


def test_the_csv_import_previews_then_imports_on_confirmation(lena, network):
    text = HEADER + f"tee,Tee,TEE-1,{ean13(7)},19.90,lisbon-chiado,2\n"
    preview = _upload(lena, text)
    assert "ready to import" in preview.content.decode()
    assert not Sku.objects.exists()
    response = lena.post("/admin/csv/products/import/", {"confirm": "1", "csv_text": text})
    job = Job.objects.get()
    assert response["Location"] == f"/admin/jobs/{job.pk}/"
    assert not Sku.objects.exists()  # the worker writes it
    run_job(job_id=job.pk)
    page = lena.get(response["Location"]).content.decode()
    assert "Imported 1 product(s), 1 SKU(s)" in page
    assert Sku.objects.get(code="TEE-1").stock_levels.get().on_hand == 2


def test_a_store_associate_cannot_import_a_catalogue(ana, network):
    assert ana.get("/admin/inventory/sku/import-csv/").status_code == 403
    assert ana.get("/admin/csv/products/import/").status_code == 403


def test_stock_export_gives_store_staff_their_own_stores(ana, network, boots):
    stock(network["lisbon"], boots, 1)
    stock(network["porto"], boots, 1)
    response = ana.get("/admin/inventory/sku/export-stock-csv/")
    lines = response.content.decode().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["lisbon-chiado"]
