from django.core.management.base import BaseCommand

from omni import services


class Command(BaseCommand):
    help = "Create or update the periodic schedules every app registers (safe to rerun)."

    def handle(self, *args, **options):
        names = services.ensure_schedules()
        if options["verbosity"] > 0:
            for name in names:
                self.stdout.write(f"schedule: {name}")
