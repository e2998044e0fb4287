"""Periodic engagement work: the nightly metrics recompute and loyalty expiry.

Both are idempotent (a redelivered task finds nothing left to do). Imported from
`CustomersConfig.ready`, so the worker and `ensure_schedules` see them.
"""

from celery import shared_task

from customers.services import loyalty, metrics
from omni.services import register_schedule


@shared_task(name="customers.recompute_metrics")
def recompute_metrics() -> int:
    return metrics.recompute_all_metrics()


@shared_task(name="customers.expire_loyalty_points")
def expire_loyalty_points() -> int:
    return loyalty.expire_points()


register_schedule(
    name="Recompute customer metrics", task="customers.recompute_metrics", crontab="30 2 * * *"
)
register_schedule(
    name="Expire loyalty points", task="customers.expire_loyalty_points", crontab="10 3 * * *"
)
