"""Demo data for a fresh back office. Each app adds its part in `<app>/seed.py`, a function
`seed(*, stdout, force)` that skips what is already there, so running it again is safe."""

import importlib

from django.core.management.base import BaseCommand

SEEDING_ORDER = ["omni", "inventory", "customers", "orders", "campaigns"]


class Command(BaseCommand):
    help = "Load demo data once: stores, staff, catalogue, customers, orders, campaigns."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="seed even if data exists")

    def handle(self, *args, force=False, **options):
        for app in SEEDING_ORDER:
            try:
                module = importlib.import_module(f"{app}.seed")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.seed":
                    raise
                continue
            module.seed(stdout=self.stdout, force=force)
