from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory.services.csv_exchange import (
    COLUMNS,
    CatalogImportInvalid,
    check_catalog_csv,
    import_catalog_csv,
)


class Command(BaseCommand):
    help = (
        "Import products, SKUs and opening stock from a CSV file (all rows or none). "
        f"Columns: {', '.join(COLUMNS)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file (UTF-8)")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and report, write nothing"
        )

    def handle(self, *args, path, dry_run=False, **options):
        text = Path(path).read_text(encoding="utf-8-sig")
        try:
            if dry_run:
                plan = check_catalog_csv(text=text)
                self.stdout.write(
                    f"OK: {len(plan.new_products)} new products, {len(plan.new_skus)} SKUs, "
                    f"{plan.receipts} opening receipts ({plan.units} units). Nothing written."
                )
                return
            result = import_catalog_csv(text=text)
        except CatalogImportInvalid as exc:
            for error in exc.details["errors"]:
                self.stderr.write(f"row {error['row']}, {error['column']}: {error['error']}")
            raise CommandError(f"{len(exc.details['errors'])} errors; nothing imported.") from None
        self.stdout.write(
            f"Imported {result.products} products, {result.skus} SKUs, "
            f"{result.receipts} opening receipts ({result.units} units)."
        )
