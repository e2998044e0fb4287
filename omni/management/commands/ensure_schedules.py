from django.core.management.base import BaseCommand

from omni import services


class Command(BaseCommand):
    help = "Create or update the periodic schedules every app registers (safe to rerun)."

    def handle(self, *args, **options):
        for name in services.ensure_schedules():
            self.stdout.write(f"schedule: {name}")
