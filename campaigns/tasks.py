"""Thin tasks: take ids, call a service. Brokers redeliver, so each is safe to run twice."""

from celery import shared_task

from campaigns.backends import BackendUnavailable
from campaigns.services import journeys, sending


@shared_task(
    name="campaigns.send_delivery_batch",
    autoretry_for=(BackendUnavailable,),
    retry_backoff=30,
    retry_kwargs={"max_retries": 10},
)
def send_delivery_batch(delivery_ids: list[int], at: str | None = None) -> dict:
    """`at` evaluates the send rules as of that time (the sweep passes its own clock)."""
    return dict(sending.send_batch(delivery_ids=delivery_ids, now=sending.now_or(at)))


@shared_task(name="campaigns.release_due_deliveries")
def release_due_deliveries(at: str | None = None) -> int:
    return sending.release_due_deliveries(now=sending.now_or(at))


@shared_task(name="campaigns.run_journeys")
def run_journeys(at: str | None = None) -> dict:
    """Enrol timed triggers and advance due journey enrolments (see services.journeys)."""
    return journeys.run_journeys(now=sending.now_or(at))


@shared_task(name="campaigns.enrol_lapsed_customers")
def enrol_lapsed_customers(at: str | None = None) -> int:
    """Enrol customers with no purchase for a win-back journey's number of days."""
    return journeys.enrol_lapsed_customers(now=sending.now_or(at))


@shared_task(name="campaigns.run_scheduled_send")
def run_scheduled_send(schedule_id: int) -> dict | None:
    """What a campaign's beat row fires (one-time, recurring or local-time)."""
    from campaigns.services.scheduling import run_scheduled_send as run

    result = run(schedule_id=schedule_id)
    return None if result is None else {"queued": result.queued, "skipped": result.skipped}


@shared_task(name="campaigns.recompute_attribution")
def recompute_attribution(days: int = 30) -> int:
    """Nightly: credit again the last days' orders (late opens and clicks, merges)."""
    import datetime

    from django.utils import timezone

    from campaigns.services.attribution import recompute_attributions

    until = timezone.now()
    return recompute_attributions(since=until - datetime.timedelta(days=days), until=until)
