"""The demo catalogue: realistic, valid, quick, and its stock agrees with its ledger."""

import io
import time

import pytest

from inventory.models import Location, Sku, StockLevel, Transfer
from inventory.seed import seed
from inventory.services.catalog import is_valid_gtin
from tests.inventory.catalog_factories import ledger_matches_on_hand

pytestmark = pytest.mark.django_db


def test_the_demo_catalogue_seeds_in_seconds_with_on_hand_equal_to_the_ledger():
    started = time.monotonic()
    seed(stdout=io.StringIO())
    assert time.monotonic() - started < 10
    assert Sku.objects.count() >= 200
    assert all(is_valid_gtin(barcode) for barcode in Sku.objects.values_list("barcode", flat=True))
    assert ledger_matches_on_hand()
    zones = set(Location.objects.values_list("time_zone", flat=True))
    assert zones == {"Europe/Lisbon", "Europe/Madrid", "Europe/Berlin"}
    assert Location.objects.filter(kind=Location.Kind.DARK_STORE).exists()
    assert not Location.objects.filter(latitude__isnull=True).exists()
    assert Transfer.objects.filter(status=Transfer.Status.IN_TRANSIT).exists()


def test_seeding_twice_adds_nothing():
    seed(stdout=io.StringIO())
    levels = StockLevel.objects.count()
    out = io.StringIO()
    seed(stdout=out)
    assert StockLevel.objects.count() == levels
    assert "skipped" in out.getvalue()
