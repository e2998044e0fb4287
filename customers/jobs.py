"""Background work of the customers app: the customer-metrics recompute on demand, and
customers in and out as CSV."""

from __future__ import annotations

import csv

from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse

from customers.models import Customer, Identity
from customers.services.identity import normalise_identity, resolve_or_create
from customers.services.metrics import recompute_all_metrics
from omni.csv_import import (
    CsvCheck,
    CsvImporter,
    check_header,
    preview_rows,
    read_csv,
    register_csv_importer,
)
from omni.errors import DomainError
from omni.jobs import register_job_kind

# --- Metrics ------------------------------------------------------------------------------


def recompute_metrics_job(job, progress) -> dict:
    count = recompute_all_metrics(progress=progress)
    return {
        "message": f"Metrics, tiers and RFM segments recomputed for {count} customers.",
        "link": reverse("admin:customers_customer_changelist"),
        "link_label": "Find a customer",
    }


register_job_kind(
    "customers.recompute_metrics",
    recompute_metrics_job,
    title="Recompute customer metrics now",
    scope="campaigns:write",
    startable=True,
)


# --- CSV ------------------------------------------------------------------------------------

CUSTOMER_COLUMNS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "loyalty_card",
    "city",
    "country",
    "language",
]
IDENTITY_COLUMNS = ("email", "phone", "loyalty_card")
MAX_ROWS = 20_000
LIMITS = {"first_name": 100, "last_name": 100, "city": 100, "country": 2, "language": 8}


def _row_identities(row: dict, line: int, check: CsvCheck) -> list[tuple[str, str]]:
    keys = []
    for column in IDENTITY_COLUMNS:
        value = row.get(column, "")
        if not value:
            continue
        try:
            key = normalise_identity(column, value, region=(row.get("country") or None))
        except DomainError as refused:
            check.error(line, column, f"{refused.message} (“{value}”)")
            continue
        keys.append((key.kind, key.value))
    return keys


def check_customers_csv(text: str, user=None) -> CsvCheck:
    header, rows = read_csv(text)
    check = CsvCheck(columns=[c for c in CUSTOMER_COLUMNS if c in header] or header)
    if not check_header(check, header, set()):
        return check
    if not set(IDENTITY_COLUMNS) & set(header):
        check.error(1, "email", "the file needs an email, phone or loyalty_card column")
        return check
    unknown = [name for name in header if name not in CUSTOMER_COLUMNS]
    for name in unknown:
        check.error(1, name, f"unknown column (expected some of: {', '.join(CUSTOMER_COLUMNS)})")
    if not rows:
        check.error(1, "", "the file has no rows")
    if len(rows) > MAX_ROWS:
        check.error(1, "", f"at most {MAX_ROWS} rows per file")
        return check
    seen: dict[tuple[str, str], int] = {}
    new = 0
    for index, row in enumerate(rows, start=2):
        for column, limit in LIMITS.items():
            if len(row.get(column, "")) > limit:
                check.error(index, column, f"at most {limit} characters")
        if row.get("country") and not row["country"].isalpha():
            check.error(index, "country", "a two-letter country code, e.g. PT")
        keys = _row_identities(row, index, check)
        if not keys and not any(row.get(column) for column in IDENTITY_COLUMNS):
            check.error(index, "email", "each customer needs an email, phone or loyalty card")
        for key in keys:
            if key in seen:
                check.error(index, key[0], f"the same {key[0]} is on row {seen[key]}; one row each")
            seen.setdefault(key, index)
    known = set()
    if seen:
        by_kind: dict[str, list[str]] = {}
        for kind, value in seen:
            by_kind.setdefault(kind, []).append(value)
        for kind, values in by_kind.items():
            known |= {
                (kind, value)
                for value in Identity.objects.filter(kind=kind, value__in=values).values_list(
                    "value", flat=True
                )
            }
        rows_with_known = {seen[key] for key in known}
        new = len(rows) - len(rows_with_known)
    check.rows = preview_rows(check.columns, rows)
    check.count = len(rows)
    check.summary = (
        f"{len(rows)} row(s): {new} new customer(s); the others are already known and only "
        "gain what is new (profile blanks are filled, nothing is overwritten)."
    )
    return check


def import_customers_csv(text: str, user, progress) -> dict:
    """Every row resolved to its customer or created, in one transaction."""
    _, rows = read_csv(text)
    total = len(rows)
    progress(0, total, "Writing customers")
    created = 0
    with transaction.atomic():
        for index, row in enumerate(rows, start=1):
            identities = [
                {"kind": column, "value": row[column]}
                for column in IDENTITY_COLUMNS
                if row.get(column)
            ]
            profile = {
                name: row[name]
                for name in ("first_name", "last_name", "city", "country", "language")
                if row.get(name)
            }
            if profile.get("country"):
                profile["country"] = profile["country"].upper()
            resolution = resolve_or_create(
                identities=identities, profile=profile, region=profile.get("country")
            )
            created += resolution.created
            if index % 50 == 0 or index == total:
                progress(index, total, f"{index} of {total} rows written")
    return {
        "message": f"Imported {total} customer row(s): {created} new customer(s).",
        "link": reverse("admin:customers_customer_changelist"),
        "link_label": "Find a customer",
    }


def export_customers_csv(out, user=None) -> int:
    writer = csv.writer(out)
    writer.writerow(CUSTOMER_COLUMNS)
    customers = (
        Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
        .prefetch_related(
            Prefetch(
                "identities",
                queryset=Identity.objects.filter(kind__in=IDENTITY_COLUMNS).order_by("pk"),
            )
        )
        .order_by("pk")
    )
    count = 0
    for customer in customers.iterator(chunk_size=2000):
        first = {}
        for identity in customer.identities.all():
            first.setdefault(identity.kind, identity.value)
        writer.writerow(
            [
                customer.first_name,
                customer.last_name,
                first.get("email", ""),
                first.get("phone", ""),
                first.get("loyalty_card", ""),
                customer.city,
                customer.country,
                customer.language,
            ]
        )
        count += 1
    return count


register_csv_importer(
    CsvImporter(
        kind="customers",
        title="Customers",
        scope="customers:write",
        export_scope="customers:read",
        columns=CUSTOMER_COLUMNS,
        check=check_customers_csv,
        write=import_customers_csv,
        export=export_customers_csv,
        help="One customer per row, found by email, phone or loyalty card (phones in any "
        "format; the country column says where a local number is from).",
    )
)
