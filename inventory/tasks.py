from celery import shared_task

from inventory.services import reservations
from omni.services import register_schedule

register_schedule(
    name="Expire lapsed stock reservations",
    task="inventory.expire_reservations",
    every_seconds=60,
)


@shared_task(name="inventory.expire_reservations")
def expire_reservations() -> int:
    """Give back the units of reservations whose time is up (safe to run twice)."""
    return reservations.expire_reservations()
