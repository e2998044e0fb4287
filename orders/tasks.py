from celery import shared_task

from omni.services import register_schedule
from orders.services import fulfilment


@shared_task(name="orders.expire_overdue_pickups")
def expire_overdue_pickups() -> int:
    return fulfilment.expire_overdue_pickups()


@shared_task(name="orders.send_pickup_reminders")
def send_pickup_reminders() -> int:
    return fulfilment.send_pickup_reminders()


register_schedule(
    name="Expire overdue pickups", task="orders.expire_overdue_pickups", every_seconds=300
)
register_schedule(name="Pickup reminders", task="orders.send_pickup_reminders", every_seconds=300)
