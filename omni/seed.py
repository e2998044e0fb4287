"""Demo stores and the staff who work in them."""

from django.contrib.auth import get_user_model

from inventory.models import Location
from omni import services
from omni.models import Role

DEMO_PASSWORD = "omni-demo-2026"  # noqa: S105 - demo staff on a development database

LOCATIONS = [
    ("lisbon-chiado", "Lisbon Chiado", Location.Kind.STORE),
    ("porto-baixa", "Porto Baixa", Location.Kind.STORE),
    ("madrid-salamanca", "Madrid Salamanca", Location.Kind.STORE),
    ("berlin-mitte", "Berlin Mitte", Location.Kind.STORE),
    ("warehouse-central", "Central warehouse", Location.Kind.WAREHOUSE),
]

STAFF = [
    ("ana", Role.STORE_ASSOCIATE, ["lisbon-chiado"]),
    ("rui", Role.STORE_MANAGER, ["lisbon-chiado", "porto-baixa"]),
    ("lena", Role.INVENTORY_PLANNER, []),
    ("marta", Role.MARKETER, []),
]


def seed(*, stdout, force: bool = False) -> None:
    services.ensure_roles()
    for code, name, kind in LOCATIONS:
        Location.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})
    User = get_user_model()
    for username, role, codes in STAFF:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@omni.localhost"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        services.grant_staff_access(
            user=user, role=role, locations=Location.objects.filter(code__in=codes)
        )
    stdout.write(
        f"demo: {len(LOCATIONS)} locations, {len(STAFF)} staff (password {DEMO_PASSWORD!r})"
    )
