"""CSV import of products, SKUs and opening stock (all rows or none) and stock export."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Product, Sku, StockLevel, StockMovement
from inventory.seed import ean13
from inventory.services.csv_exchange import (
    CatalogImportInvalid,
    check_catalog_csv,
    export_stock_csv,
    import_catalog_csv,
)
from tests.inventory.catalog_factories import (
    CatalogSkuFactory,
    ledger_matches_on_hand,
    place,
    stock,
)

pytestmark = pytest.mark.django_db

HEADER = (
    "product_slug,product_name,category,brand,sku_code,barcode,size,colour,price,currency,"
    "cost,location,quantity\n"
)


def csv_text(*rows: str) -> str:
    return HEADER + "".join(f"{row}\n" for row in rows)


@pytest.fixture
def network():
    return {"lisbon": place("lisbon-chiado"), "porto": place("porto-baixa")}


def good_file() -> str:
    return csv_text(
        f"tejo-court,Tejo Court,sneakers,Ribeira,SNK-TC-WHT-41,{ean13(1)},41,White,89.90,EUR,"
        "37.00,lisbon-chiado,4",
        f"tejo-court,Tejo Court,sneakers,Ribeira,SNK-TC-WHT-41,{ean13(1)},41,White,89.90,EUR,"
        "37.00,porto-baixa,2",
        f"tejo-court,Tejo Court,sneakers,Ribeira,SNK-TC-WHT-42,{ean13(2)},42,White,89.90,EUR,"
        "37.00,,",
    )


def test_a_clean_file_creates_products_skus_and_opening_stock_through_the_ledger(network):
    result = import_catalog_csv(text=good_file())
    assert (result.products, result.skus, result.receipts, result.units) == (1, 2, 2, 6)
    product = Product.objects.get(slug="tejo-court")
    assert product.category.slug == "sneakers"
    assert product.brand.name == "Ribeira"
    sku = Sku.objects.get(code="SNK-TC-WHT-41")
    assert sku.attributes == {"size": "41", "colour": "White"}
    assert str(sku.price) == "89.90"
    on_hand = dict(StockLevel.objects.filter(sku=sku).values_list("location__code", "on_hand"))
    assert on_hand == {"lisbon-chiado": 4, "porto-baixa": 2}
    assert StockMovement.objects.filter(kind="receipt", reference_type="csv_import").count() == 2
    assert ledger_matches_on_hand()


def test_one_bad_row_refuses_the_file_with_a_report_and_writes_nothing(network):
    CatalogSkuFactory(code="TAKEN-1")
    text = csv_text(
        f"tejo-court,Tejo Court,,,SNK-OK-1,{ean13(1)},41,White,89.90,EUR,,lisbon-chiado,4",
        "tejo-court,Tejo Court,,,SNK-BAD-2,4006381333932,42,White,-5,EUR,,lisbon-chiado,0",
        f"tejo-court,Tejo Court,,,TAKEN-1,{ean13(3)},43,White,89.90,EURO,,atlantis,2",
    )
    with pytest.raises(CatalogImportInvalid) as refused:
        import_catalog_csv(text=text)
    assert refused.value.status_code == 400
    assert refused.value.details["errors"] == [
        {"row": 3, "column": "barcode", "error": "not a valid GTIN (wrong length or check digit)"},
        {
            "row": 3,
            "column": "price",
            "error": "price must be a non-negative amount with at most 2 decimals.",
        },
        {"row": 3, "column": "quantity", "error": "a whole number greater than zero"},
        {"row": 4, "column": "sku_code", "error": "SKU TAKEN-1 already exists"},
        {"row": 4, "column": "currency", "error": "currency must be an ISO 4217 code like EUR."},
        {"row": 4, "column": "location", "error": "no location has the code atlantis"},
    ]
    assert not Product.objects.filter(slug="tejo-court").exists()
    assert not Sku.objects.filter(code="SNK-OK-1").exists()
    assert not StockMovement.objects.exists()


def test_a_missing_column_is_reported_against_the_header():
    with pytest.raises(CatalogImportInvalid) as refused:
        check_catalog_csv(text="product_slug,price\nx,1\n")
    assert refused.value.details["errors"] == [
        {"row": 1, "column": "sku_code", "error": "required column is missing"}
    ]


def test_a_sku_repeated_with_a_different_price_is_an_error(network):
    text = csv_text(
        "tee,Tee,,,TEE-1,,M,Navy,19.90,EUR,,lisbon-chiado,1",
        "tee,Tee,,,TEE-1,,M,Navy,21.90,EUR,,porto-baixa,1",
    )
    with pytest.raises(CatalogImportInvalid) as refused:
        check_catalog_csv(text=text)
    assert refused.value.details["errors"] == [
        {"row": 3, "column": "price", "error": "differs from an earlier row of TEE-1"}
    ]


def test_the_same_barcode_on_two_skus_in_one_file_is_an_error():
    text = csv_text(
        f"tee,Tee,,,TEE-1,{ean13(5)},M,Navy,19.90,EUR,,,",
        f"tee,Tee,,,TEE-2,{ean13(5)},L,Navy,19.90,EUR,,,",
    )
    with pytest.raises(CatalogImportInvalid) as refused:
        check_catalog_csv(text=text)
    assert refused.value.details["errors"][0]["column"] == "barcode"


def test_the_command_checks_a_dry_run_and_refuses_a_bad_file(tmp_path: Path, network):
    good = tmp_path / "good.csv"
    good.write_text(good_file(), encoding="utf-8")
    out = io.StringIO()
    call_command("import_catalog", str(good), "--dry-run", stdout=out)
    assert "Nothing written" in out.getvalue()
    assert not Sku.objects.exists()
    call_command("import_catalog", str(good), stdout=out)
    assert Sku.objects.count() == 2
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text("tee,,,,,,,,x,EUR,,,"), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_catalog", str(bad), stdout=out, stderr=err)
    assert "row 2, sku_code: required" in err.getvalue()


def test_stock_exports_as_csv_with_available(network):
    sku = CatalogSkuFactory(code="SNK-1")
    stock(network["lisbon"], sku, 5, safety_stock=1)
    stock(network["porto"], sku, 2)
    out = io.StringIO()
    assert export_stock_csv(out=out) == 2
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "location,sku,barcode,product,on_hand,reserved,safety_stock,available,damaged,reorder_point"
    )
    assert lines[1].startswith("lisbon-chiado,SNK-1,")
    assert lines[1].endswith(",5,0,1,4,0,0")
    only_porto = io.StringIO()
    call_command("export_stock", "--location", "porto-baixa", stdout=only_porto)
    assert len(only_porto.getvalue().splitlines()) == 2
