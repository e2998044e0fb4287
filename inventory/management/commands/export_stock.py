from django.core.management.base import BaseCommand, CommandError

from inventory.models import Location
from inventory.services.csv_exchange import export_stock_csv


class Command(BaseCommand):
    help = "Export stock levels (on hand, reserved, available...) as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--location", action="append", default=[], help="location code")
        parser.add_argument("-o", "--output", help="file to write (default: stdout)")

    def handle(self, *args, location, output=None, **options):
        ids = None
        if location:
            found = dict(Location.objects.filter(code__in=location).values_list("code", "pk"))
            unknown = sorted(set(location) - set(found))
            if unknown:
                raise CommandError(f"Unknown location(s): {', '.join(unknown)}")
            ids = list(found.values())
        if output:
            with open(output, "w", newline="", encoding="utf-8") as out:
                count = export_stock_csv(out=out, location_ids=ids)
            self.stderr.write(f"{count} rows written to {output}")
        else:
            export_stock_csv(out=self.stdout, location_ids=ids)
