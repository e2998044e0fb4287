from celery import shared_task

from omni import services


@shared_task(name="omni.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return services.purge_idempotency_records()


@shared_task(name="omni.record_heartbeat")
def record_heartbeat() -> str:
    """Beat sends this every minute; the worker stamps the cache, so /healthz can tell
    that both beat and a worker are alive."""
    return services.record_heartbeat()


@shared_task(name="omni.run_job")
def run_job_task(job_id: int) -> str:
    """Run one background job (CSV import, metrics recompute...); safe to deliver twice."""
    from omni.jobs import run_job

    job = run_job(job_id=job_id)
    return job.state if job is not None else "gone"


from omni.webhooks.tasks import send_due_webhooks, send_webhooks  # noqa: E402, F401 - registers them
