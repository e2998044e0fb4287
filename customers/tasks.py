"""Periodic work of the customers app (thin: each task calls one service)."""

from celery import shared_task

from omni.services import register_schedule


@shared_task(name="customers.record_detected_duplicates")
def record_detected_duplicates() -> int:
    from customers.services.identity import record_detected_duplicates as record

    return record()


register_schedule(
    name="Record duplicate customer suggestions",
    task="customers.record_detected_duplicates",
    crontab="40 2 * * *",
)
