"""Static segment lists: loaded from CSV all or nothing, exported as CSV.

A file has a header row and one customer per row, found by `email`, `phone` or
`customer_id` (the customer's public ID); the first of those columns present is used
unless the caller names one. Every row is checked before anything is written: the preview
and the import give the same per-row report `(row, column, error)`, and an import with any
error changes nothing. A merged-away customer's row counts for the customer they were
merged into; erased customers cannot be added.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field

from django.db import transaction

from campaigns.segment_models import Segment, SegmentMember
from campaigns.segmentation.errors import InvalidMemberList, NotAStaticSegment
from customers.models import Customer, Identity
from customers.services.identity import normalise_email, normalise_phone
from omni.errors import DomainError

MATCH_COLUMNS = ("email", "phone", "customer_id")
MAX_ROWS = 100_000
MAX_ERRORS_SHOWN = 200
MODES = ("replace", "add")


@dataclass
class RowError:
    row: int  # the line in the file; the header is line 1
    column: str
    error: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "error": self.error}


@dataclass
class ListCheck:
    match_by: str = ""
    rows: int = 0
    matched: int = 0
    duplicates: int = 0
    customer_ids: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    sample: list[dict] = field(default_factory=list)

    def report(self) -> dict:
        return {
            "match_by": self.match_by,
            "rows": self.rows,
            "matched": self.matched,
            "duplicates": self.duplicates,
            "error_count": len(self.errors),
            "errors": [error.as_dict() for error in self.errors[:MAX_ERRORS_SHOWN]],
            "sample": self.sample,
        }


def _read(text: str) -> tuple[list[str], list[list[str]]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise InvalidMemberList(f"The file is not valid CSV: {error}.") from None
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        raise InvalidMemberList("The file is empty; it needs a header row.")
    header = [cell.strip().lower() for cell in lines[0]]
    return header, lines[1:]


def check_list(text: str, *, match_by: str | None = None) -> ListCheck:
    """Find the customer of every row; nothing is written."""
    header, rows = _read(text)
    if match_by is not None and match_by not in MATCH_COLUMNS:
        raise InvalidMemberList(
            f"`match_by` is one of {', '.join(MATCH_COLUMNS)}.", match_by=match_by
        )
    column = match_by or next((name for name in MATCH_COLUMNS if name in header), None)
    if column is None or column not in header:
        raise InvalidMemberList(
            "The header row needs a column named email, phone or customer_id.",
            header=header,
            column=column,
        )
    if len(rows) > MAX_ROWS:
        raise InvalidMemberList(f"At most {MAX_ROWS:,} rows per file.", rows=len(rows))
    index = header.index(column)
    result = ListCheck(match_by=column, rows=len(rows))

    wanted: dict[str, list[int]] = {}
    for number, cells in enumerate(rows, start=2):
        raw = cells[index].strip() if index < len(cells) else ""
        if not raw:
            result.errors.append(RowError(number, column, "empty"))
            continue
        try:
            key = _normalise(column, raw)
        except DomainError as error:
            result.errors.append(RowError(number, column, error.message))
            continue
        wanted.setdefault(key, []).append(number)

    found = _customers_by(column, list(wanted))
    seen: set[int] = set()
    for key, numbers in wanted.items():
        customer = found.get(key)
        if customer is None:
            for number in numbers:
                result.errors.append(RowError(number, column, "no customer has this " + column))
            continue
        if customer.erased_at is not None:
            for number in numbers:
                result.errors.append(RowError(number, column, "this customer was erased"))
            continue
        for _ in numbers:
            if customer.pk in seen:
                result.duplicates += 1
                continue
            seen.add(customer.pk)
            result.customer_ids.append(customer.pk)
            if len(result.sample) < 10:
                result.sample.append(
                    {"row": numbers[0], "customer": str(customer.public_id), "name": str(customer)}
                )
    result.matched = len(result.customer_ids)
    result.errors.sort(key=lambda error: error.row)
    return result


def _normalise(column: str, raw: str) -> str:
    if column == "email":
        return normalise_email(raw)
    if column == "phone":
        return normalise_phone(raw)
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidMemberList("not a customer ID") from None


def _customers_by(column: str, keys: list[str]) -> dict[str, Customer]:
    """key → the live customer it names (following merges), in a few queries."""
    if not keys:
        return {}
    if column == "customer_id":
        rows = Customer.objects.filter(public_id__in=keys).values_list("public_id", "pk")
        owner = {str(public_id): pk for public_id, pk in rows}
    else:
        kind = Identity.Kind.EMAIL if column == "email" else Identity.Kind.PHONE
        owner = dict(
            Identity.objects.filter(kind=kind, namespace="", value__in=keys).values_list(
                "value", "customer_id"
            )
        )
    customers = Customer.objects.in_bulk(set(owner.values()))
    # Follow merges (a chain is short; each step is one query for all rows).
    pending = {pk for pk, c in customers.items() if c.merged_into_id}
    while pending:
        survivors = Customer.objects.in_bulk(
            {customers[pk].merged_into_id for pk in pending} - set(customers)
        )
        customers.update(survivors)
        for pk in list(pending):
            customers[pk] = customers[customers[pk].merged_into_id]
        pending = {pk for pk in pending if customers[pk].merged_into_id}
    return {key: customers[pk] for key, pk in owner.items()}


def import_list(
    *, segment: Segment, text: str, match_by: str | None = None, mode: str = "replace"
) -> ListCheck:
    """Load the file into the segment's list: `replace` its members or `add` to them. Any
    row error refuses the whole file and writes nothing."""
    if segment.kind != Segment.Kind.STATIC:
        raise NotAStaticSegment(segment=str(segment.public_id))
    if mode not in MODES:
        raise InvalidMemberList(f"`mode` is one of {', '.join(MODES)}.", mode=mode)
    result = check_list(text, match_by=match_by)
    if result.errors:
        raise InvalidMemberList(**result.report())
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).first()
        if mode == "replace":
            segment.members.exclude(customer_id__in=result.customer_ids).delete()
        existing = set(
            segment.members.filter(customer_id__in=result.customer_ids).values_list(
                "customer_id", flat=True
            )
        )
        SegmentMember.objects.bulk_create(
            [
                SegmentMember(segment=segment, customer_id=pk)
                for pk in result.customer_ids
                if pk not in existing
            ],
            batch_size=5000,
            ignore_conflicts=True,
        )
        segment.save(update_fields=["updated_at"])
    return result


EXPORT_HEADER = ["customer_id", "first_name", "last_name", "email", "phone", "country", "city"]


def export_rows(customers):
    """CSV lines (header first) for a queryset of customers, read in chunks."""
    from campaigns.audience import address_subquery

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    yield _drain(buffer)
    rows = (
        customers.order_by("pk")
        .annotate(email=address_subquery("email"), phone=address_subquery("sms"))
        .values_list("public_id", "first_name", "last_name", "email", "phone", "country", "city")
    )
    for row in rows.iterator(chunk_size=2000):
        writer.writerow([_safe_cell(value) for value in row])
        if buffer.tell() > 64_000:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _safe_cell(value) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; quote them out."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@") and not _is_phone(text):
        return "'" + text
    return text


def _is_phone(text: str) -> bool:
    return text.startswith("+") and text[1:].isdigit()
