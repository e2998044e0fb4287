"""CSV import and export where staff expect them, one flow for every kind of file.

Upload → the whole file is checked and a preview shows the first rows as they were read,
with every error by row, column and message; nothing is written yet → confirm → the
worker checks again and writes all or nothing, with progress on the job's page.

An app registers an importer in its `jobs.py`::

    register_csv_importer(CsvImporter(
        kind="customers", title="Customers", scope="customers:write",
        columns=[...], check=check_customers_csv, write=import_customers_csv,
        export=export_customers_csv,
    ))

`check(text, user)` returns a `CsvCheck`; `write(text, user, progress)` writes in one
transaction and returns the result dict of the job (`message`, `link`, `link_label`);
`export(out, user)` writes the CSV (for imports, in the importer's own columns).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from omni.errors import BadRequest
from omni.jobs import register_job_kind

PREVIEW_ROWS = 20
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class CsvInvalid(BadRequest):
    code = "csv_invalid"
    message = "The file has errors; nothing was imported."


@dataclass
class CsvCheck:
    """What a file would do: the rows as read (for the preview), every error, and a
    one-line summary of what would be written."""

    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"row", "column", "message"}
    summary: str = ""
    count: int = 0

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": message})

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class CsvImporter:
    kind: str
    title: str
    scope: str
    columns: list[str]
    check: Callable
    write: Callable
    export: Callable | None = None
    export_scope: str | None = None
    help: str = ""

    @property
    def job_kind(self) -> str:
        return f"csv_import.{self.kind}"


_IMPORTERS: dict[str, CsvImporter] = {}


def register_csv_importer(importer: CsvImporter) -> None:
    _IMPORTERS[importer.kind] = importer

    def run(job, progress):
        user = job.created_by
        progress(0, None, "Checking the file again")
        checked = importer.check(job.payload, user)
        if not checked.ok:
            raise CsvInvalid(errors=checked.errors[:200])
        return importer.write(job.payload, user, progress)

    register_job_kind(
        importer.job_kind, run, title=f"Import {importer.title.lower()}", scope=importer.scope
    )


def csv_importer(kind: str) -> CsvImporter | None:
    return _IMPORTERS.get(kind)


def csv_importers() -> list[CsvImporter]:
    return sorted(_IMPORTERS.values(), key=lambda importer: importer.title)


def read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header (trimmed) and every row as {column: trimmed value}. Row numbers staff
    see count the header as row 1, so the first data row is row 2."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows = [{key: (value or "").strip() for key, value in row.items() if key} for row in reader]
    return header, rows


def check_header(check: CsvCheck, header: list[str], required: set[str]) -> bool:
    missing = sorted(required - set(header))
    for column in missing:
        check.error(1, column, "this column is missing from the header row")
    if not header:
        check.error(1, "", "the file is empty")
    return not missing and bool(header)


def preview_rows(columns: list[str], rows: list[dict[str, str]]) -> list[list[str]]:
    return [[row.get(column, "") for column in columns] for row in rows[:PREVIEW_ROWS]]
