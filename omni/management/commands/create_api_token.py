from django.core.management.base import BaseCommand, CommandError

from inventory.models import Location
from omni import services
from omni.errors import DomainError


class Command(BaseCommand):
    help = "Create an API token for a POS register or an integration; prints it once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="e.g. 'Lisbon register 1'")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            required=True,
            help="repeat for each scope, e.g. --scope sales:write --scope stock:read",
        )
        parser.add_argument(
            "--location",
            action="append",
            dest="locations",
            default=[],
            help="location code the token is limited to; repeat for several (default: all)",
        )
        parser.add_argument("--rate-limit", type=int, default=None, help="requests per minute")

    def handle(self, *args, name, scopes, locations, rate_limit, **options):
        found = list(Location.objects.filter(code__in=locations))
        missing = sorted(set(locations) - {location.code for location in found})
        if missing:
            raise CommandError(f"Unknown location code(s): {', '.join(missing)}")
        try:
            token, plain = services.create_api_token(
                name=name, scopes=scopes, locations=found, rate_limit_per_minute=rate_limit
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.details}") from exc
        self.stdout.write(f"Created token {token.key_id} for {name!r}. Copy it now:")
        self.stdout.write(plain)
