"""Webhook sending: a kick after each commit for speed, and a sweep every few seconds
for everything else (retries, a lost kick, a crashed worker's claimed rows). Like every
task they retry on their own while the database is away (`omni.celery.OmniTask`)."""

from celery import shared_task

from omni.services import register_schedule
from omni.webhooks import services


@shared_task(name="omni.send_webhooks")
def send_webhooks(delivery_ids: list[int] | None = None) -> int:
    return services.send_due(delivery_ids=delivery_ids, max_batches=1)


@shared_task(name="omni.send_due_webhooks")
def send_due_webhooks() -> int:
    return services.send_due()


register_schedule(name="Send due webhooks", task="omni.send_due_webhooks", every_seconds=10)
