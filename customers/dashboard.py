"""Dashboard block and search results of the customers app: open support cases; customers
found by any identity (email, phone in any format, loyalty card, POS reference) or name."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from customers.models import CaseStatus, Customer, SupportCase
from customers.selectors import customers_by_identity_term, search_customers
from omni.auth import has_scope
from omni.dashboard import STORE_ROLES, register_panel
from omni.search import Hit, register_finder

OPEN = [CaseStatus.OPEN, CaseStatus.PENDING]


def open_cases_panel(request, location):
    if not has_scope(request.user, "customers:read"):
        return None
    cases = SupportCase.objects.filter(status__in=OPEN).select_related("customer")
    if location is not None:
        # Cases opened at this store, or not tied to any store (web, phone): both can
        # walk in here.
        cases = cases.filter(Q(location=location) | Q(location__isnull=True))
    count = cases.count()
    return {
        "caption": f"{count} open case(s)",
        "columns": ["Subject", "Customer", "Status", "Opened"],
        "table": [
            {
                "cells": [
                    case.subject,
                    case.customer.full_name or "—",
                    case.get_status_display(),
                    f"{case.created_at:%d %b}",
                ],
                "url": reverse("admin:customers_supportcase_change", args=[case.pk]),
            }
            for case in cases.order_by("-created_at")[:6]
        ],
        "empty": "No open support cases.",
        "more_url": reverse("admin:customers_supportcase_changelist"),
        "more_label": "All cases",
    }


register_panel(
    "cases",
    "admin/omni/panels/table.html",
    open_cases_panel,
    title="Open support cases",
    roles=STORE_ROLES,
    order=50,
)


def find_customers(request, term: str) -> list[Hit]:
    if not has_scope(request.user, "customers:read"):
        return []
    exact = customers_by_identity_term(term)
    exact_ids = {customer.pk for customer in exact}
    by_name = []
    if len(term) >= 2:
        by_name = list(
            search_customers(term, Customer.objects.filter(merged_into__isnull=True))
            .exclude(pk__in=exact_ids)
            .order_by("last_name", "first_name")[:10]
        )
    hits = []
    for customer in exact + by_name:
        contact = (
            customer.identities.filter(kind__in=["email", "phone"])
            .order_by("kind")
            .values_list("value", flat=True)
        )
        hits.append(
            Hit(
                label=customer.full_name or "(no name)",
                detail=" · ".join(contact[:2]),
                url=reverse("admin:customers_customer_360", args=[customer.pk]),
                exact=customer.pk in exact_ids,
            )
        )
    return hits


register_finder("customers", "Customers", find_customers, order=10)
