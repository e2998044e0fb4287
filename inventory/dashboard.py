"""Dashboard blocks and search results of the inventory app: low stock (here, or wherever
the planner looks), transfers in transit; SKUs found by code, barcode or name."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.http import urlencode

from inventory import selectors
from inventory.admin_views import find_skus
from inventory.models import Transfer
from omni.auth import has_scope, visible_location_ids
from omni.dashboard import PLANNER_ROLES, STORE_ROLES, register_panel
from omni.search import Hit, register_finder

LOW_STOCK_ROWS = 8
IN_TRANSIT = [
    Transfer.Status.PICKED,
    Transfer.Status.IN_TRANSIT,
    Transfer.Status.PARTIALLY_RECEIVED,
]


def _lookup(code: str = "") -> str:
    url = reverse("admin:inventory_stocklookup_changelist")
    return f"{url}?{urlencode({'q': code})}" if code else url


def _low_stock_rows(levels) -> list[dict]:
    return [
        {
            "cells": [
                level.sku.code,
                level.sku.name or level.sku.product.name,
                level.location.name,
                level.available_now,
                level.reorder_point,
            ],
            "url": _lookup(level.sku.code),
        }
        for level in levels[:LOW_STOCK_ROWS]
    ]


def low_stock_panel(request, location):
    if not has_scope(request.user, "stock:read"):
        return None
    ids = [location.pk] if location is not None else visible_location_ids(request.user)
    levels = selectors.low_stock_levels(location_ids=ids)
    count = levels.count()
    return {
        "caption": f"{count} item(s) below their reorder point"
        + (f" at {location.name}" if location else ""),
        "columns": ["SKU", "Item", "Where", "Available", "Reorder at"],
        "table": _low_stock_rows(levels),
        "empty": "Nothing below its reorder point.",
        "more_url": reverse("admin:inventory_lowstocklevel_changelist"),
        "more_label": "All low stock",
    }


def transfers_panel(request, location):
    if not has_scope(request.user, "stock:read"):
        return None
    transfers = Transfer.objects.filter(status__in=IN_TRANSIT).select_related(
        "source", "destination"
    )
    ids = [location.pk] if location is not None else visible_location_ids(request.user)
    if ids is not None:
        transfers = transfers.filter(Q(source_id__in=ids) | Q(destination_id__in=ids))
    transfers = transfers.order_by("expected_arrival", "pk")
    return {
        "caption": f"{transfers.count()} transfer(s) on the way",
        "columns": ["Transfer", "From", "To", "Status", "Expected"],
        "table": [
            {
                "cells": [
                    f"#{transfer.pk}",
                    transfer.source.name,
                    transfer.destination.name,
                    transfer.get_status_display(),
                    f"{transfer.expected_arrival:%d %b}" if transfer.expected_arrival else "—",
                ],
                "url": reverse("admin:inventory_transfer_change", args=[transfer.pk]),
            }
            for transfer in transfers[:LOW_STOCK_ROWS]
        ],
        "empty": "No transfer is on the way.",
        "more_url": reverse("admin:inventory_transfer_changelist"),
        "more_label": "All transfers",
    }


register_panel(
    "low-stock",
    "admin/omni/panels/table.html",
    low_stock_panel,
    title="Low stock",
    roles=STORE_ROLES | PLANNER_ROLES,
    order=40,
)
register_panel(
    "transfers",
    "admin/omni/panels/table.html",
    transfers_panel,
    title="Transfers in transit",
    roles=PLANNER_ROLES,
    order=45,
)


def find_skus_for_search(request, term: str) -> list[Hit]:
    if not has_scope(request.user, "stock:read"):
        return []
    matches = find_skus(term)
    exact = {sku.pk for sku in matches if sku.code.lower() == term.lower() or sku.barcode == term}
    return [
        Hit(
            label=f"{sku.code} · {sku.name or sku.product.name}",
            detail=f"{sku.barcode or 'no barcode'} · {sku.price} {sku.currency}",
            url=_lookup(sku.code),
            exact=sku.pk in exact,
        )
        for sku in matches
    ]


register_finder("skus", "Products", find_skus_for_search, order=30)
